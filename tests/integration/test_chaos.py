"""Faults against real processes under load, counted per message id: what was acknowledged is processed
exactly once, in order, and nothing is left stuck. Each test is bounded in time."""

from __future__ import annotations

import os
import signal
import time

import pytest

from config.settings import SANDBOX_APP_SECRET
from handover import keys
from handover.keys import partition_of
from handover.message import routing_key
from tests.fakes.graph_server import FakeGraph
from tests.support.chaos import Customers, Deployment, dead_letters, later, transcript, transcript_ids
from tests.support.processes import Process, http_json, wait_for
from tests.support.webhook import PNID, RECENT, body, signed, text_message

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


@pytest.fixture
def deployment(tmp_path):
    running = Deployment(tmp_path, workers=2, env={"HANDOVER_PARTITIONS": "8", "HANDOVER_LEASE_SECONDS": "3"})
    running.start()
    yield running
    running.stop()


def test_workers_ride_out_a_redis_crash_and_resume_by_themselves(deployment):
    """Redis is SIGKILLed under load and back 2 s later (AOF always); the workers are not restarted."""
    customers = Customers(count=20, each=8)

    def crash(n: int) -> None:
        if n == 40:
            deployment.redis.kill()
            later(2.0, deployment.redis.start)

    customers.write(deployment.base, during=crash)
    client = deployment.client()
    wait_for(lambda: customers.all_processed(client), 60, "every acknowledged message processed")
    assert customers.refused > 0  # the webhook said 503 while Redis was away, and Meta delivered again
    assert all(deployment.alive()), deployment.logs()
    assert dead_letters(client) == 0
    restarts = http_json("GET", f"{deployment.base}/metrics")[1]
    assert "handover_worker_restarts_total" in restarts  # the outage shows in /metrics


def test_a_worker_told_to_stop_finishes_and_exits_0(redis_url, graph, tmp_path):
    """SIGTERM: the Graph API session closes before its loop stops (it used to exit 1: loop closed)."""
    env = {
        "REDIS_URL": redis_url,
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_APP_SECRET": "s",
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_API_URL": graph.base_url,
    }
    worker = Process(["worker"], env, tmp_path / "worker.log").start()
    wait_for(lambda: "worker_started" in worker.log(), 30, "the worker to start")
    worker.signal(signal.SIGTERM)
    assert worker.popen is not None and worker.popen.wait(timeout=30) == 0, worker.log()
    assert "Traceback" not in worker.log()


def test_redis_out_of_memory_is_an_outage_not_a_poison_entry(deployment):
    """maxmemory reached with noeviction: the webhook says 503 (not 500), the worker's commits are refused,
    and what was acknowledged stays pending, never dead-lettered, until memory is freed."""
    customers = Customers(count=10, each=2)
    customers.write(deployment.base)
    client = deployment.client()
    wait_for(lambda: customers.all_processed(client), 60, "the first messages processed")
    workers = deployment.processes[1:]
    for worker in workers:
        worker.signal(signal.SIGSTOP)  # pending work for when memory runs out
    later_ones = Customers(count=10, each=2, first=2)
    later_ones.write(deployment.base)
    client.config_set("maxmemory", 1)  # every write refused: OOM command not allowed
    try:
        status, _ = http_json(
            "POST", f"{deployment.base}/webhook", headers=later_ones.headers(0, 9), data=later_ones.raw(0, 9)
        )
        assert status == 503
        for worker in workers:
            worker.signal(signal.SIGCONT)
        time.sleep(3)  # the workers try, and are refused, for a while (a pause, not a timing assertion)
        assert dead_letters(client) == 0
        assert not later_ones.all_processed(client)
    finally:
        client.config_set("maxmemory", 0)
    wait_for(
        lambda: later_ones.all_processed(client), 60, "the pending messages processed once memory is back"
    )
    assert all(deployment.alive()), deployment.logs()
    assert dead_letters(client) == 0


def test_a_hung_redis_gets_meta_a_503_within_seconds_and_then_a_200(deployment):
    """Redis stopped (SIGSTOP: connections accepted, nothing answered): the webhook answers 503 after its
    read timeout instead of holding Meta's request; once Redis runs again, 200."""
    customers = Customers(count=1, each=1)
    os.kill(deployment.redis.process.pid, signal.SIGSTOP)
    try:
        status, _ = http_json(
            "POST", f"{deployment.base}/webhook", headers=customers.headers(0, 0), data=customers.raw(0, 0)
        )
        assert status == 503
        assert http_json("GET", f"{deployment.base}/readyz")[0] == 503
    finally:
        os.kill(deployment.redis.process.pid, signal.SIGCONT)
    customers.write(deployment.base)
    wait_for(lambda: customers.all_processed(deployment.client()), 30, "the message processed")


def test_a_partition_fed_long_messages_keeps_its_lease_and_the_others_their_pace(tmp_path):
    """Eight customers of one partition send fifty 4 KB messages each in one webhook: a batch takes longer
    than the (quarter-second) lease. It is renewed as the batch works, so the partition drains instead of losing its
    lease at every commit; a customer elsewhere is answered meanwhile, and a new one there afterwards."""
    deployment = Deployment(
        tmp_path, workers=2, env={"HANDOVER_PARTITIONS": "8", "HANDOVER_LEASE_SECONDS": "0.25"}
    ).start()
    try:
        wa_ids = (f"55119{n:08d}" for n in range(10_000))
        crowded = [w for w in wa_ids if partition_of(routing_key(PNID, w), 8) == 7][:9]
        elsewhere = next(
            w for w in (f"55118{n:08d}" for n in range(100)) if partition_of(routing_key(PNID, w), 8) != 7
        )
        long_text = "obrigado " + "a " * 2040
        flood = [
            text_message(f"wamid.flood.{w}.{i}", w, long_text, RECENT + i)
            for w in crowded[:8]
            for i in range(50)
        ]
        raw, headers = signed(body(flood), SANDBOX_APP_SECRET)
        assert http_json("POST", f"{deployment.base}/webhook", headers=headers, data=raw)[0] == 200
        client = deployment.client()
        Customers.say(deployment.base, elsewhere, "wamid.elsewhere", "oi")
        wait_for(lambda: "wamid.elsewhere" in transcript_ids(client, elsewhere), 30, "the customer elsewhere")
        Customers.say(deployment.base, crowded[8], "wamid.latecomer", "oi")
        wait_for(lambda: "wamid.latecomer" in transcript_ids(client, crowded[8]), 60, "the latecomer")
        for w in crowded[:8]:
            assert transcript_ids(client, w) == [f"wamid.flood.{w}.{i}" for i in range(50)]
        # renewed as it works, a batch loses its lease only if its worker stalls for a quarter-second
        lost = sum(p.log_path.read_text().count('"lease_lost"') for p in deployment.processes)
        assert lost <= 3, deployment.logs()
    finally:
        deployment.stop()


def test_a_hanging_graph_api_never_holds_up_the_bot(tmp_path):
    """Meta hangs (every send past the client's 10 s timeout): sends wait and retry, but the bot keeps
    taking messages; once Meta answers again every reply goes out."""
    graph = FakeGraph.start_in_thread(latency=30.0)
    deployment = Deployment(tmp_path, workers=2, env=graph_env(graph)).start()
    try:
        client = deployment.client()
        first = Customers(count=10, each=1)
        first.write(deployment.base)
        wait_for(lambda: first.all_processed(client), 30, "the first messages taken")
        time.sleep(1.0)  # their replies are being sent now, each held by Meta
        then = Customers(count=10, each=2, first=1)
        then.write(deployment.base)
        # well inside the 10 s a hung send holds its drain: the bot did not wait behind one
        wait_for(lambda: then.all_processed(client), 8, "the bot to take every message while Meta hangs")
        assert sent(client) < 30
        graph.latency = 0.0
        wait_for(lambda: sent(client) >= 30, 90, "every reply sent once Meta answers")
        assert all(deployment.alive()), deployment.logs()
    finally:
        graph.latency = 0.0
        deployment.stop()
        graph.stop()


def sent(client) -> int:
    """Sends Meta accepted (answered 200 in time), replies and read receipts alike."""
    return int(client.hget(keys.COUNTERS, "outbound_sent") or 0)


def test_workers_killed_in_a_loop_under_load_lose_and_double_nothing(tmp_path):
    """Every second a worker is SIGKILLed mid-work and a new one started (as a supervisor would); the
    customers keep writing. Every acknowledged message is processed exactly once, in order."""
    deployment = Deployment(
        tmp_path, workers=3, env={"HANDOVER_PARTITIONS": "8", "HANDOVER_LEASE_SECONDS": "2"}
    ).start()
    try:
        killed = 0

        def kill_one(n: int) -> None:
            nonlocal killed
            if n % 25 == 24:
                victim = deployment.processes[1 + killed % 3]
                victim.kill()
                deployment.processes[1 + killed % 3] = Process(
                    ["worker"], victim.env, tmp_path / f"worker.{killed}.log"
                ).start()
                killed += 1

        customers = Customers(count=25, each=8)
        customers.write(deployment.base, during=kill_one)
        client = deployment.client()
        wait_for(lambda: customers.all_processed(client), 90, "every acknowledged message processed once")
        assert killed >= 7
        assert dead_letters(client) == 0
    finally:
        deployment.stop()


def test_meta_throttling_then_failing_then_hanging_then_healthy_loses_no_reply(tmp_path):
    """Graph API 429 (throughput, 130429), then 500, then hanging past the client's timeout, then healthy:
    every bot reply ends up delivered (a WhatsApp id on its transcript entry), each conversation's replies
    reached Meta in the order they were written, and nothing is dead-lettered."""
    graph = FakeGraph.start_in_thread()
    deployment = Deployment(tmp_path, workers=2, env=graph_env(graph)).start()
    try:
        graph.fail_next(20, status=429, code=130429)
        graph.fail_next(20, status=500)
        customers = Customers(count=10, each=2)
        customers.write(deployment.base)
        client = deployment.client()
        wait_for(lambda: customers.all_processed(client), 30, "every message taken by the bot")
        wait_for(lambda: graph.failures_left() == 0, 60, "the sends to have met the 429s and the 500s")
        graph.latency = 12.0  # hanging: past the 10 s timeout of our client
        time.sleep(3)
        graph.latency = 0.0

        def undelivered() -> list[str]:
            return [e.id for e in replies(client, customers) if not (e.delivery and e.delivery.wa_message_id)]

        assert len(replies(client, customers)) >= 20  # each customer got an answer to each message
        wait_for(lambda: not undelivered(), 120, "every reply delivered")
        # at-least-once: a send Meta took after our client gave up is sent again; count them, keep them rare
        written, taken = len(replies(client, customers)), len(graph.accepted)
        print(f"replies written {written}, accepted by Meta {taken}: {taken - written} sent twice")
        assert written <= taken <= written + written // 2  # seen: 0 to 3 of 20
        for wa_id in customers.acknowledged:  # the fake numbers what it accepts: wamid.fake.1, .2 ...
            accepted = [
                int(e.delivery.wa_message_id.rsplit(".", 1)[1]) for e in replies(client, customers, wa_id)
            ]
            assert accepted == sorted(accepted), (wa_id, accepted)
        assert all(deployment.alive()), deployment.logs()
        assert dead_letters(client) == 0
    finally:
        graph.latency = 0.0
        deployment.stop()
        graph.stop()


def graph_env(graph: FakeGraph) -> dict[str, str]:
    return {
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_APP_SECRET": SANDBOX_APP_SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_API_URL": graph.base_url,
        "HANDOVER_PARTITIONS": "8",
    }


def replies(client, customers: Customers, only: str | None = None) -> list:
    """The bot's messages to these customers (or to one), from their transcripts, in transcript order."""
    return [
        e
        for wa_id in ([only] if only else customers.acknowledged)
        for e in transcript(client, wa_id)
        if e.direction == "out"
    ]
