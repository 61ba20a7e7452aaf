"""Real redis-server, real `handover worker` processes, a fake Graph API on loopback.

Order per conversation across several workers, and nothing lost or doubled when a worker is SIGKILLed
in the middle of a batch.
"""

from __future__ import annotations

import json
import random
import signal
import time

import pytest
import redis

from config.settings import Settings
from handover import keys
from handover.keys import Lane
from handover.message import CustomerRef
from handover.store import Store
from tests.fakes.graph_server import FakeGraph
from tests.support.processes import Process, wait_for
from tests.support.webhook import PNID, RECENT, SECRET, body, signed, text_message

pytestmark = pytest.mark.integration

PARTITIONS = 8


@pytest.fixture
def graph():
    server = FakeGraph.start_in_thread(latency=0.02)
    yield server
    server.stop()


def worker_env(redis_url: str, graph_url: str, lease: float = 2.0) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "WHATSAPP_ACCESS_TOKEN": "test-token",
        "WHATSAPP_APP_SECRET": SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "verify",
        "WHATSAPP_API_URL": graph_url,
        "HANDOVER_PARTITIONS": str(PARTITIONS),
        "HANDOVER_LEASE_SECONDS": str(lease),
        "HANDOVER_BATCH_SIZE": "100",
        "HANDOVER_LOG_LEVEL": "WARNING",
    }


def ingest_through_webhook(redis_url: str, customers: int, per_customer: int) -> list[tuple[str, list[str]]]:
    """POST signed webhooks (a few messages each, out of order) through the real app; returns expectations."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from app.web import build_app

    settings = Settings(
        redis_url=redis_url,
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        whatsapp_access_token="t",
        handover_partitions=PARTITIONS,
    )
    rng = random.Random(7)
    expected = []
    messages = []
    for c in range(customers):
        wa_id = f"55119{c:08d}"
        texts = [f"c{c}-m{i}" for i in range(per_customer)]
        expected.append((wa_id, texts))
        messages += [text_message(f"wamid.{c}.{i}", wa_id, texts[i], RECENT + i) for i in range(per_customer)]
    rng.shuffle(messages)  # Meta delivers concurrently and out of order

    async def post_all() -> None:
        async with TestClient(TestServer(build_app(settings))) as client:
            for start in range(0, len(messages), 5):
                raw, headers = signed(body(messages[start : start + 5]))
                response = await client.post("/webhook", data=raw, headers=headers)
                assert response.status == 200, await response.text()

    asyncio.run(post_all())
    return expected


def processed(client: redis.Redis) -> int:
    return int(client.hget(keys.COUNTERS, "messages_processed") or 0)


def assert_transcripts(client: redis.Redis, expected: list[tuple[str, list[str]]]) -> None:
    store = Store(client)
    for wa_id, texts in expected:
        conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))
        assert conversation is not None, wa_id
        inbound = [e.text for e in store.transcript(conversation.id) if e.direction == "in"]
        assert inbound == texts, f"{wa_id}: {inbound}"
        assert conversation.messages_in == len(texts)


def test_two_workers_keep_each_conversation_in_order(redis_url, graph, tmp_path):
    expected = ingest_through_webhook(redis_url, customers=40, per_customer=6)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    env = worker_env(redis_url, graph.base_url)
    workers = [Process(["worker"], env, tmp_path / f"worker{i}.log").start() for i in range(2)]
    try:
        wait_for(lambda: processed(client) >= 240, 60, "240 messages processed")
        wait_for(lambda: receipts_done(client, 240), 60, "every message covered by a read receipt")
    finally:
        for w in workers:
            w.stop()
    assert processed(client) == 240
    assert_transcripts(client, expected)
    assert_every_newest_message_read(graph, customers=40, per_customer=6)
    assert all(r["authorization"] == "Bearer test-token" for r in graph.requests)
    assert all(client.xlen(keys.stream_key(lane, p)) == 0 for lane in Lane for p in range(PARTITIONS))


def test_sigkilled_worker_loses_nothing_and_doubles_nothing(redis_url, graph, tmp_path):
    customers, per_customer = 200, 10
    total = customers * per_customer
    expected = ingest_through_webhook(redis_url, customers=customers, per_customer=per_customer)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    env = worker_env(redis_url, graph.base_url, lease=2.0)

    victim = Process(["worker"], env, tmp_path / "victim.log").start()
    # Freeze the worker while it holds a partition with entries read but not committed, then kill it.
    caught = False
    for _ in range(200):
        wait_for(lambda: processed(client) > 0 or graph.count() > 0, 60, "the first worker to start")
        victim.signal(signal.SIGSTOP)
        in_flight = any(_pending(client, lane, p) for lane in Lane for p in range(PARTITIONS))
        if in_flight:
            caught = True
            break
        victim.signal(signal.SIGCONT)
        time.sleep(0.005)
    victim.kill()
    killed_at = time.monotonic()
    assert caught, "never caught the worker mid-batch:\n" + victim.log()
    assert processed(client) < total, "the worker finished before it could be killed"

    survivor = Process(["worker"], env, tmp_path / "survivor.log").start()
    try:
        wait_for(lambda: processed(client) >= total, 90, f"{total} messages processed", interval=0.2)
        recovered_in = time.monotonic() - killed_at
        wait_for(lambda: receipts_done(client, total), 90, "every message covered by a read receipt")
        wait_for(
            lambda: all(not _pending(client, lane, p) for lane in Lane for p in range(PARTITIONS)),
            30,
            "no entry left pending",
        )
    finally:
        survivor.stop()
    print(f"recovered {total} messages {recovered_in:.1f}s after SIGKILL (lease 2 s)")
    assert processed(client) == total  # the counter commits with the batch: exactly once
    assert_transcripts(client, expected)
    # sends are at-least-once: a killed batch may repeat a receipt, never skip one
    assert_every_newest_message_read(graph, customers, per_customer)
    assert client.xlen(keys.dead_letter_key(Lane.INBOUND)) == 0


def receipts_done(client: redis.Redis, total: int) -> bool:
    """Every message's receipt was sent, or covered by a newer one of the same conversation."""
    counters = client.hgetall(keys.COUNTERS)
    return int(counters.get("receipts_sent", 0)) + int(counters.get("receipts_covered", 0)) >= total


def assert_every_newest_message_read(graph: FakeGraph, customers: int, per_customer: int) -> None:
    """WhatsApp marks earlier messages read with a later one, so each customer's newest must be receipted."""
    read_ids = {r["json"]["message_id"] for r in graph.requests if r["json"].get("status") == "read"}
    assert {f"wamid.{c}.{per_customer - 1}" for c in range(customers)} <= read_ids
    assert read_ids <= {f"wamid.{c}.{i}" for c in range(customers) for i in range(per_customer)}


def _pending(client: redis.Redis, lane: Lane, partition: int) -> int:
    info = client.xpending(keys.stream_key(lane, partition), keys.GROUP)
    return int(info["pending"])


def test_worker_sends_replies_to_the_graph_api_with_retries(redis_url, tmp_path):
    """A send that meets 503s is retried with backoff and recorded once it goes through."""
    from handover.conversation import Conversation
    from handover.message import OutboundKind, OutboundRequest
    from handover.traffic.enqueue import OutboundJob, queue_send
    from handover.transcript import TranscriptEntry

    graph = FakeGraph.start_in_thread(latency=0.0)
    try:
        graph.fail_next(2, status=503)
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        store = Store(client)
        customer = CustomerRef(phone_number_id=PNID, wa_id="5511900000001")
        conversation = Conversation.start(customer, time.time())
        request = OutboundRequest(
            kind=OutboundKind.TEXT, phone_number_id=PNID, to=customer.address, text="Olá!"
        )
        entry = TranscriptEntry.from_outbound("out.1", request, author="bot", at=time.time(), seq=1)
        partition = keys.partition_of(conversation.routing_key, PARTITIONS)
        with client.pipeline(transaction=True) as pipe:
            store.save_conversation(pipe, conversation)
            store.append_entry(pipe, conversation.id, entry)
            queue_send(
                pipe,
                OutboundJob(conversation_id=conversation.id, entry_id="out.1", p=partition, request=request),
            )
            pipe.execute()
        worker = Process(["worker"], worker_env(redis_url, graph.base_url), tmp_path / "w.log").start()
        try:

            def delivered():
                [reply] = store.transcript(conversation.id)
                return reply.delivery and reply.delivery.status == "sent" and reply.delivery

            delivery = wait_for(delivered, 60, "the reply to be sent after two 503s", interval=0.2)
        finally:
            worker.stop()
        assert delivery.attempts == 3
        assert delivery.wa_message_id.startswith("wamid.")
        texts = [r["json"]["text"]["body"] for r in graph.requests if r["json"].get("type") == "text"]
        assert texts == ["Olá!"] * 3
        counters = client.hgetall(keys.COUNTERS)
        assert (counters["outbound_retried"], counters["outbound_sent"]) == ("2", "1")
    finally:
        graph.stop()


def test_a_poison_entry_is_set_aside_and_the_rest_flows(redis_url, graph, tmp_path):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    from handover.traffic.streams import ensure_groups

    ensure_groups(client, PARTITIONS)
    client.xadd(keys.stream_key(Lane.OUTBOUND, 0), {"d": json.dumps({"not": "a job"})})
    expected = ingest_through_webhook(redis_url, customers=3, per_customer=2)
    worker = Process(["worker"], worker_env(redis_url, graph.base_url), tmp_path / "w.log").start()
    try:
        wait_for(
            lambda: processed(client) >= 6 and client.xlen(keys.dead_letter_key(Lane.OUTBOUND)) == 1,
            60,
            "messages processed and the bad entry dead-lettered",
        )
    finally:
        worker.stop()
    assert_transcripts(client, expected)
    [(_, dead)] = client.xrange(keys.dead_letter_key(Lane.OUTBOUND))
    assert json.loads(dead["d"]) == {"not": "a job"} and "ValidationError" in dead["error"]
