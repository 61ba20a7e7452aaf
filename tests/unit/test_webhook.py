"""The webhook edge on fakeredis: handshake, signatures, sizes, malformed bodies, storage, dedupe."""

from __future__ import annotations

import contextlib
import json

import fakeredis
import pytest
from aiohttp import web
from redis.asyncio import Redis as AsyncRedis

from app.web import build_app
from config.settings import Settings
from handover import keys
from tests.support.fake_redis import sync_beside
from tests.support.redis_server import free_port
from tests.support.webhook import PNID, body, signed_post, stored_items, text_message
from webhooks.gate import BodyGate, Busy
from webhooks.views import WEBHOOK

PARTITIONS = 4


def settings(**overrides) -> Settings:
    base = dict(
        whatsapp_app_secret="test-app-secret",
        whatsapp_verify_token="verify-me",
        whatsapp_access_token="token",
        redis_url="redis://unused",
        handover_partitions=PARTITIONS,
    )
    return Settings(**(base | overrides))


@pytest.fixture
def fake():
    return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)


@pytest.fixture
async def client(aiohttp_client, fake):
    return await aiohttp_client(build_app(settings(), redis_client=fake, sync_client=sync_beside(fake)))


async def stored(fake) -> list[dict]:
    return await stored_items(fake, PARTITIONS)


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        (
            {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
            200,
            "1158201444",
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"}, 403, None),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"}, 403, None),
        ({"hub.mode": "subscribe", "hub.verify_token": "verify-me"}, 403, None),
        ({}, 403, None),
    ],
)
async def test_subscription_handshake(client, query, status, text):
    response = await client.get("/webhook", params=query)
    assert response.status == status
    if text is not None:
        assert await response.text() == text
    else:
        assert (await response.json())["error"]["code"] == "verification_failed"


async def test_signed_message_is_stored_once_and_acknowledged(client, fake):
    payload = body([text_message("wamid.HBgM1", "5511987650001", "oi", 1700000000)])
    first = await signed_post(client, payload)
    again = await signed_post(client, payload)  # Meta retries
    assert (first.status, again.status) == (200, 200)
    items = await stored(fake)
    assert len(items) == 1
    message = items[0]["message"]
    assert (message["id"], message["text"], message["customer"]["wa_id"]) == (
        "wamid.HBgM1",
        "oi",
        "5511987650001",
    )


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_signature"),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 403, "bad_signature"),
        ({"X-Hub-Signature-256": "garbage"}, 403, "bad_signature"),
        ({"X-Hub-Signature-256": "sha256=é"}, 403, "bad_signature"),  # not ASCII: once a TypeError and a 500
        ({"X-Hub-Signature-256": "sha256=" + "é" * 64}, 403, "bad_signature"),
        ({"X-Hub-Signature-256": "sha256=" + "A" * 64}, 403, "bad_signature"),  # Meta's hex is lowercase
        ({"X-Hub-Signature-256": "sha1=" + "0" * 40}, 403, "bad_signature"),
    ],
)
async def test_unsigned_or_badly_signed_posts_store_nothing(client, fake, headers, status, code):
    raw = json.dumps(body([text_message("wamid.X", "5511", "oi", 1)])).encode()
    response = await client.post("/webhook", data=raw, headers=headers)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code  # JSON like the desk API's errors
    assert await stored(fake) == []


async def test_a_signature_of_the_wrong_shape_is_refused_before_the_body_is_read(client, fake, monkeypatch):
    """Anything but `sha256=` and 64 hex digits cannot match: 403 without reading a byte of the body (a
    junk signature once held a 3 MB read open)."""

    async def must_not_read(self):
        raise AssertionError("the body was read")

    monkeypatch.setattr(web.BaseRequest, "read", must_not_read)
    response = await client.post("/webhook", data=b"{}", headers={"X-Hub-Signature-256": "sha256=junk"})
    assert response.status == 403


async def test_slots_are_counted_by_declared_size_so_small_posts_are_not_refused_for_their_number():
    """Room for two bodies of the largest size: 15 POSTs of 1 KB in flight fit, and a 3 MB one besides;
    another 3 MB one does not, and neither does one that declares no size (it may be the largest), nor a
    17th POST however small."""
    gate = BodyGate(limit=2, max_body=3 * 1024 * 1024)
    async with contextlib.AsyncExitStack() as held:
        for _ in range(15):
            await held.enter_async_context(gate.slot(1024))
        assert gate.in_flight == 15
        async with gate.slot(3 * 1024 * 1024):  # 15 KB of small ones + 3 MB: within 6 MB
            with pytest.raises(Busy):
                async with gate.slot(1):
                    pass
            with pytest.raises(Busy):
                async with gate.slot(3 * 1024 * 1024):
                    pass
            with pytest.raises(Busy):
                async with gate.slot(None):
                    pass
    assert (gate.in_flight, gate.reserved) == (0, 0)


async def test_with_every_body_slot_taken_a_post_gets_503_with_retry_after(aiohttp_client, fake):
    """Meta delivers a 503 again; Retry-After says when a slot is free at the latest (the body timeout)."""
    app = build_app(
        settings(handover_webhook_concurrency=1, handover_body_timeout_seconds=7.5),
        redis_client=fake,
        sync_client=sync_beside(fake),
    )
    client = await aiohttp_client(app)
    gate = app[WEBHOOK].gate
    async with gate.slot():  # a slow body holds the only slot
        busy = await signed_post(client, body([text_message("wamid.BUSY", "5511", "oi", 1)]))
    assert (busy.status, busy.headers["Retry-After"]) == (503, "8")
    assert (await busy.json())["error"]["code"] == "busy"
    assert await stored(fake) == []
    assert (await signed_post(client, body([text_message("wamid.BUSY", "5511", "oi", 1)]))).status == 200
    assert gate.in_flight == 0


async def test_signature_is_over_raw_bytes_not_reserialised_json(client, fake):
    payload = body([text_message("wamid.RAW", "5511987650002", "ação", 1700000000)])
    raw = json.dumps(payload, ensure_ascii=False, indent=3).encode()  # not what json.dumps would give again
    response = await signed_post(client, raw)
    assert response.status == 200
    assert [i["message"]["text"] for i in await stored(fake)] == ["ação"]


async def test_secret_of_another_app_is_refused(client, fake):
    response = await signed_post(client, body([text_message("wamid.O", "5511", "oi", 1)]), secret=b"other")
    assert response.status == 403


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account"}',
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser goes: once a RecursionError and a 500
        b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
async def test_malformed_bodies_get_400_and_nothing_stored(client, fake, raw):
    response = await signed_post(client, raw)
    assert response.status == 400
    assert await stored(fake) == []


async def test_three_megabytes_accepted_and_larger_refused(client, fake):
    payload = body([text_message("wamid.BIG", "5511987650003", "x", 1700000000)])
    payload["padding"] = "y" * (3 * 1024 * 1024 - len(json.dumps(payload)) - 20)
    raw = json.dumps(payload).encode()
    assert len(raw) <= 3 * 1024 * 1024
    assert (await signed_post(client, raw)).status == 200
    too_big = raw[:-1] + b', "more": "' + b"z" * 2048 + b'"}'
    assert (await signed_post(client, too_big)).status == 413


async def test_batch_of_entries_and_changes_is_stored_whole(client, fake):
    a = body(
        [
            text_message("wamid.A1", "5511000000001", "um", 100),
            text_message("wamid.A2", "5511000000002", "dois", 101),
        ]
    )
    b = body(
        [text_message("wamid.B1", "5511000000003", "tres", 102)],
        statuses=[
            {"id": "wamid.OUT", "status": "delivered", "timestamp": "103", "recipient_id": "5511000000003"}
        ],
    )
    a["entry"].append(b["entry"][0])
    a["entry"][0]["changes"].append(b["entry"][0]["changes"][0] | {})
    response = await signed_post(client, a)
    assert response.status == 200
    items = await stored(fake)
    ids = sorted(i["message"]["id"] if i["type"] == "message" else i["status"]["message_id"] for i in items)
    # the repeated change's message is dropped as a duplicate; its status is kept (applying it twice is a no-op)
    assert ids == ["wamid.A1", "wamid.A2", "wamid.B1", "wamid.OUT", "wamid.OUT"]


async def test_numbers_we_do_not_serve_are_acknowledged_and_kept_aside(aiohttp_client, fake):
    client = await aiohttp_client(
        build_app(settings(whatsapp_phone_number_ids="999"), redis_client=fake, sync_client=sync_beside(fake))
    )
    response = await signed_post(client, body([text_message("wamid.N", "5511", "oi", 1)], pnid=PNID))
    assert response.status == 200
    assert await stored(fake) == []
    unrouted = await fake.xrange(keys.UNROUTED)
    assert json.loads(unrouted[0][1]["d"])["message"]["id"] == "wamid.N"


async def test_redis_down_answers_503_so_meta_retries(aiohttp_client):
    down = AsyncRedis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    client = await aiohttp_client(build_app(settings(), redis_client=down))
    response = await signed_post(client, body([text_message("wamid.D", "5511", "oi", 1)]))
    assert response.status == 503
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/healthz")).status == 200
    await down.aclose()


async def test_metrics_count_what_happened(client):
    await signed_post(client, body([text_message("wamid.M", "5511", "oi", 1)]))
    await signed_post(client, body([text_message("wamid.M", "5511", "oi", 1)]))
    await client.post("/webhook", data=b"{}")
    text = await (await client.get("/metrics")).text()
    assert "handover_webhooks_received_total 3.0" in text
    assert "handover_webhook_duplicates_total 1.0" in text
    assert 'handover_webhooks_rejected_total{reason="missing_signature"} 1.0' in text
    assert "handover_stream_backlog" in text and "handover_processing_lag_seconds" in text


async def test_a_large_batch_is_parsed_off_the_event_loop(client, fake, monkeypatch):
    """Thousands of messages in one body are read in a thread: /healthz and other requests keep answering."""
    import threading

    from webhooks import views

    where = []
    parse = views._parse
    monkeypatch.setattr(
        views, "_parse", lambda raw: (where.append(threading.current_thread()), parse(raw))[1]
    )
    small = body([text_message("wamid.small", "5511900000001", "oi", 1_700_000_000)])
    large = body([text_message(f"wamid.{i}", f"5511{i:09d}", "oi", 1_700_000_000) for i in range(1500)])
    assert len(json.dumps(large)) > views.PARSE_IN_THREAD_BYTES > len(json.dumps(small))
    assert (await signed_post(client, small)).status == 200
    assert (await signed_post(client, large)).status == 200
    assert where[0] is threading.main_thread() and where[1] is not threading.main_thread()
    assert len(await stored(fake)) == 1501


async def test_a_lone_surrogate_keeps_its_message_and_its_neighbour(client, fake):
    """JSON may escape half of a UTF-16 pair alone (`\\ud83d`): the text is kept with the half replaced,
    and the valid message beside it is not lost (the whole POST was once refused)."""
    lone = text_message("wamid.HALF", "5511987650010", "PLACEHOLDER", 1700000000)
    fine = text_message("wamid.FINE", "5511987650011", "tudo bem", 1700000001)
    raw = (
        json.dumps(body([lone, fine])).replace("PLACEHOLDER", "oi \\ud83d e \\udc00 \\ud83d\\ude00").encode()
    )
    response = await signed_post(client, raw)
    assert response.status == 200
    texts = {i["message"]["id"]: i["message"]["text"] for i in await stored(fake)}
    assert texts == {"wamid.HALF": "oi \ufffd e \ufffd \U0001f600", "wamid.FINE": "tudo bem"}
