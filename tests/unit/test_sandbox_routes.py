"""The sandbox routes on fakeredis: customer turns and delivery statuses taken through the signed webhook
path, the outbox polled with ?after=, the simulator page, and none of it outside the sandbox."""

from __future__ import annotations

import json

import fakeredis
import pytest
from redis.asyncio import Redis as AsyncRedis

from app.web import build_app
from config.settings import SANDBOX_APP_SECRET, Settings
from handover import keys
from tests.support.fake_redis import sync_beside
from tests.support.webhook import stored_items
from webhooks import sandbox, signature

PARTITIONS = 4
CUSTOMER = "5511987650001"


def sandbox_settings(**overrides) -> Settings:
    base = {
        "redis_url": "redis://unused",
        "whatsapp_access_token": None,
        "handover_partitions": PARTITIONS,
        "handover_sandbox": True,  # on a real Redis only when asked for
    }
    return Settings(**(base | overrides))


@pytest.fixture
def fake() -> AsyncRedis:
    return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)


@pytest.fixture
async def client(aiohttp_client, fake):
    return await aiohttp_client(
        build_app(sandbox_settings(), redis_client=fake, sync_client=sync_beside(fake))
    )


@pytest.fixture
def taken(monkeypatch) -> list[tuple[bytes, str]]:
    """Every (body, signature header) the sandbox hands to the webhook path, which still runs."""
    seen: list[tuple[bytes, str]] = []
    real = sandbox.accept_signed

    async def spy(ctx, body, header):  # type: ignore[no-untyped-def]
        seen.append((body, header))
        return await real(ctx, body, header)

    monkeypatch.setattr(sandbox, "accept_signed", spy)
    return seen


async def sent(fake, to: str, at: float, kind: str = "text", **fields) -> dict:
    """A record as the sandbox outbox writes it (graph/transport.py SandboxOutbox)."""
    record = {
        "id": None if kind == "mark_read" else f"wamid.sandbox.{at}",
        "at": at,
        "kind": kind,
        "phone_number_id": sandbox.SANDBOX_PHONE_NUMBER_ID,
        "to": to,
        **fields,
    }
    for key in (keys.outbox_key(to), keys.SANDBOX_OUTBOX_ALL):
        await fake.rpush(key, json.dumps(record))
    return record


async def stored(fake) -> list[dict]:
    return await stored_items(fake, PARTITIONS)


async def test_a_status_is_meta_shaped_signed_and_stored_like_a_webhook_delivery(client, fake, taken):
    record = await sent(fake, CUSTOMER, 1000.5, text="Olá!")
    response = await client.post(
        "/sandbox/statuses", json={"id": record["id"], "status": "delivered", "to": CUSTOMER}
    )
    assert response.status == 202, await response.text()
    assert await response.json() == {"id": record["id"], "status": "delivered"}

    ((body, header),) = taken
    assert signature.is_valid(body, header, SANDBOX_APP_SECRET)
    payload = json.loads(body)
    assert payload["object"] == "whatsapp_business_account"
    (entry,) = payload["entry"]
    (change,) = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["metadata"] == {
        "display_phone_number": sandbox.SANDBOX_DISPLAY_NUMBER,
        "phone_number_id": sandbox.SANDBOX_PHONE_NUMBER_ID,
    }
    (status,) = value["statuses"]
    assert set(status) == {"id", "status", "timestamp", "recipient_id"}
    assert (status["id"], status["status"], status["recipient_id"]) == (record["id"], "delivered", CUSTOMER)
    assert status["timestamp"].isdigit()
    assert "messages" not in value

    (item,) = await stored(fake)
    assert item["type"] == "status"
    assert item["status"] | {"timestamp": 0} == {
        "message_id": record["id"],
        "status": "delivered",
        "timestamp": 0,
        "phone_number_id": sandbox.SANDBOX_PHONE_NUMBER_ID,
        "recipient_id": CUSTOMER,
        "errors": [],
    }


async def test_a_status_names_the_number_the_message_was_sent_from(client, fake, taken):
    record = await sent(fake, CUSTOMER, 1000.5, text="Olá!", phone_number_id="200000000000002")
    response = await client.post(
        "/sandbox/statuses", json={"id": record["id"], "status": "read", "to": CUSTOMER}
    )
    assert response.status == 202
    value = json.loads(taken[0][0])["entry"][0]["changes"][0]["value"]
    assert value["metadata"]["phone_number_id"] == "200000000000002"
    assert value["statuses"][0]["status"] == "read"


def test_a_customer_known_only_by_username_is_the_status_recipient_user_id():
    payload = sandbox.meta_status_payload("1", "wamid.X", "read", "BR.1502576394655843", 1700000000)
    (status,) = payload["entry"][0]["changes"][0]["value"]["statuses"]
    assert status == {
        "id": "wamid.X",
        "status": "read",
        "timestamp": "1700000000",
        "recipient_user_id": "BR.1502576394655843",
    }


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"id": "wamid.unknown", "status": "read", "to": CUSTOMER}, 404, "unknown_message"),
        ({"id": "wamid.sandbox.1000.5", "status": "read", "to": "5511000000000"}, 404, "unknown_message"),
        ({"id": "wamid.sandbox.1000.5", "status": "sent", "to": CUSTOMER}, 422, "invalid_body"),
        ({"id": "wamid.sandbox.1000.5", "status": "failed", "to": CUSTOMER}, 422, "invalid_body"),
        ({"id": "wamid.sandbox.1000.5", "status": "read"}, 422, "invalid_body"),
        ({"id": "", "status": "read", "to": CUSTOMER}, 422, "invalid_body"),
        ("not json", 422, "invalid_body"),
    ],
)
async def test_a_status_about_a_message_never_sent_or_not_a_phone_status_is_refused(
    client, fake, taken, body, status, code
):
    await sent(fake, CUSTOMER, 1000.5, text="Olá!")
    if isinstance(body, str):
        response = await client.post("/sandbox/statuses", data=body)
    else:
        response = await client.post("/sandbox/statuses", json=body)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code
    assert taken == [] and await stored(fake) == []


async def test_outbox_after_gives_only_newer_records_and_the_next_cursor(client, fake):
    first = await sent(fake, CUSTOMER, 1000.25, text="one")
    second = await sent(fake, CUSTOMER, 1000.5, text="two")
    read = await sent(fake, CUSTOMER, 1000.75, kind="mark_read", message_id="wamid.in.1")
    await sent(fake, "5511000000000", 1001.0, text="someone else")

    whole = await (await client.get("/sandbox/outbox", params={"to": CUSTOMER})).json()
    assert whole == {"messages": [first, second, read], "next_after": 1000.75}

    newer = await (await client.get("/sandbox/outbox", params={"to": CUSTOMER, "after": "1000.25"})).json()
    assert newer == {"messages": [second, read], "next_after": 1000.75}

    none = await (await client.get("/sandbox/outbox", params={"to": CUSTOMER, "after": "1000.75"})).json()
    assert none == {"messages": [], "next_after": 1000.75}  # poll again with the same cursor

    everyone = await (await client.get("/sandbox/outbox", params={"after": "1000.6"})).json()
    assert [m["at"] for m in everyone["messages"]] == [1000.75, 1001.0]


async def test_outbox_after_reads_past_the_tail_when_all_of_it_is_new(client, fake):
    records = [await sent(fake, CUSTOMER, 2000.0 + i, text=str(i)) for i in range(sandbox.OUTBOX_TAIL + 7)]
    answer = await (await client.get("/sandbox/outbox", params={"to": CUSTOMER, "after": "2002.5"})).json()
    assert answer["messages"] == records[3:]
    assert answer["next_after"] == records[-1]["at"]


async def test_outbox_after_must_be_a_number(client):
    response = await client.get("/sandbox/outbox", params={"to": CUSTOMER, "after": "yesterday"})
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "invalid_query"


async def test_a_reply_names_the_message_it_answers_and_the_time_it_was_taken(client, fake, taken):
    response = await client.post(
        "/sandbox/messages",
        json={
            "from": CUSTOMER,
            "name": "Ana",
            "button": {"id": "falar_com_atendente", "title": "Sim, atendente"},
            "context": "wamid.sandbox.out.1",
        },
    )
    assert response.status == 202
    answer = await response.json()
    assert answer["id"].startswith("wamid.sandbox.in.") and isinstance(answer["at"], float)
    (message,) = json.loads(taken[0][0])["entry"][0]["changes"][0]["value"]["messages"]
    assert message["context"] == {"from": sandbox.SANDBOX_DISPLAY_NUMBER, "id": "wamid.sandbox.out.1"}
    assert message["timestamp"] == str(int(answer["at"]))
    (item,) = await stored(fake)
    assert item["message"]["context_id"] == "wamid.sandbox.out.1"
    assert item["message"]["reply_id"] == "falar_com_atendente"


async def test_the_simulator_page_is_served_uncached_with_its_script(client):
    response = await client.get("/simulator")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.content_type == "text/html"
    page = await response.text()
    for testid in ("sim-number", "sim-name", "sim-start", "sim-input", "sim-send", "sim-thread"):
        assert f'data-testid="{testid}"' in page
    assert "/static/simulator.js" in page and "/static/simulator.css" in page
    script = await client.get("/static/simulator.js")
    assert script.status == 200


@pytest.mark.parametrize("path", ["/", "/simulator"])
async def test_the_pages_only_run_and_talk_to_their_own_server(client, path):
    response = await client.get(path)
    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert (policy["script-src"], policy["connect-src"], policy["style-src"]) == ("'self'",) * 3
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/simulator"),
        ("POST", "/sandbox/statuses"),
        ("POST", "/sandbox/messages"),
        ("GET", "/sandbox/outbox"),
    ],
)
@pytest.mark.parametrize(
    "outside",
    [
        {"whatsapp_access_token": "EAAG", "whatsapp_app_secret": "s3cret", "whatsapp_verify_token": "v"},
        # a real Redis without Meta's token: still no sandbox unless HANDOVER_SANDBOX=1 asks for it
        {"handover_sandbox": False},
    ],
    ids=["production", "real-redis-not-asked"],
)
async def test_outside_the_sandbox_there_is_no_simulator_nor_sandbox_route(
    aiohttp_client, fake, method, path, outside
):
    production = sandbox_settings(**outside)
    client = await aiohttp_client(build_app(production, redis_client=fake, sync_client=sync_beside(fake)))
    response = await client.request(method, path, json={"id": "x", "status": "read", "to": CUSTOMER})
    assert response.status == 404
