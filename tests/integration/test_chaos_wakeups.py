"""Wake-ups lost with their workers, against real processes under load: a worker killed (-9) or stopped
(SIGTERM) while messages flow, Redis restarted. Every message is processed and every reply sent, and no
partition with entries stays idle longer than the lease and a sweep (by Redis's clock, tests/support/idle.py).
Each test is bounded in time."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from handover import keys
from handover.keys import Lane, partition_of
from handover.message import routing_key
from handover.traffic.wakeups import WAKE_MS
from tests.support.chaos import Customers, Deployment, dead_letters, later, transcript
from tests.support.idle import IdleWatch
from tests.support.processes import Process, wait_for
from tests.support.webhook import PNID

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

PARTITIONS = 8
LEASE = 2.0
# The promise: a partition's work is taken over within the lease + 1 s (a sweep). What a loaded 2-core
# machine adds on top (a worker starved of CPU, a slow sample): generous, and still far below the 10 s a
# lost wake-up's mark used to hold a partition for.
MARGIN = 2.5
BOUND = LEASE + 1.0 + MARGIN


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    env = {"HANDOVER_PARTITIONS": str(PARTITIONS), "HANDOVER_LEASE_SECONDS": str(LEASE)}
    running = Deployment(tmp_path, workers=3, env=env).start()
    yield running
    running.stop()


@pytest.fixture
def watch(deployment: Deployment) -> Iterator[IdleWatch]:
    watching = IdleWatch(deployment.redis.url, PARTITIONS).start()
    yield watching
    watching.stop()


def test_a_wakeup_lost_with_its_worker_holds_its_partition_up_for_a_sweep_not_ten_seconds(deployment, watch):
    """The state a worker leaves when it dies (or stops, or loses Redis) between popping a wake-up and
    taking the lease: the wake-up's mark, no wake-up in the list, no lease. A message for that partition
    is then not woken by the webhook (a wake-up looks pending); the sweep must see through it."""
    wa_id = next(
        w for w in (f"55117{n:08d}" for n in range(100)) if partition_of(routing_key(PNID, w), 8) == 5
    )
    client = deployment.client()
    client.set(keys.wake_key(Lane.INBOUND, 5), "1", px=WAKE_MS)  # popped by a worker that died
    Customers.say(deployment.base, wa_id, "wamid.lost", "oi")
    wait_for(
        lambda: any(e.id == "wamid.lost" for e in transcript(client, wa_id)), 30, "the message processed"
    )
    slot, idle = watch.longest()
    print(f"longest idle {slot} {idle:.2f}s")
    assert idle <= BOUND, f"{slot} idle {idle:.1f}s with entries"
    assert any('"partition_rewoken"' in p.log_path.read_text() for p in deployment.processes), (
        deployment.logs()
    )


def test_workers_killed_and_stopped_under_load_leave_no_partition_idle_past_the_lease(
    deployment, watch, tmp_path
):
    """Four writers, 40 customers, 40 messages each, ~200 a second; meanwhile a worker is SIGKILLed or
    SIGTERMed, in turn, and a new one started (as a supervisor would), again once it runs.
    Everything acknowledged is processed, every reply sent, and no partition waits with entries longer than
    the lease + 1 s (and the margin): a wake-up its worker took and never drained is woken again."""
    retired: list[Process] = []
    pause = threading.Event()  # never set: for pauses

    def fault() -> None:
        turn = len(retired)
        at = 1 + turn % 3
        victim = deployment.processes[at]
        if turn % 2 == 0:
            victim.kill()
        else:
            victim.signal(signal.SIGTERM)  # it finishes what it holds and hands back what it took
        retired.append(victim)
        deployment.processes[at] = Process(["worker"], victim.env, tmp_path / f"worker.r{turn}.log").start()

    writers = [Writers(count=10, each=40, offset=10 * n) for n in range(4)]
    paced = {"during": lambda n: pause.wait(0.01)}  # ~200 messages a second in all, for ten seconds or so
    threads = [threading.Thread(target=w.write, args=(deployment.base,), kwargs=paced) for w in writers]
    try:
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            pause.wait(0.5)
            # one worker down at a time: the next fault once the last one's replacement runs
            wait_for(lambda: all(is_started(p) for p in deployment.processes[1:]), 60, "the new worker")
            fault()
        client = deployment.client()
        for customers in writers:
            assert sum(map(len, customers.acknowledged.values())) == 400
            wait_for(lambda c=customers: c.all_processed(client), 120, "every acknowledged message processed")
            wait_for(lambda c=customers: replies_sent(client, c), 60, "every reply sent")
        assert len(retired) >= 4
        assert dead_letters(client) == 0
        slot, idle = watch.longest()
        print(f"{len(retired)} workers killed or stopped; longest idle {slot} {idle:.2f}s")
        assert watch.samples > 50  # it watched throughout
        assert idle <= BOUND, f"{slot} idle {idle:.1f}s with entries\n{deployment.logs()}"
    finally:
        for process in retired:
            process.stop()


def is_started(worker: Process) -> bool:
    return '"worker_started"' in worker.log_path.read_text()


@dataclass
class Writers(Customers):
    """Customers numbered from `offset`, so that writers on threads of their own write to customers apart."""

    offset: int = 0

    def message(self, i: int, c: int) -> tuple[str, str, bytes, dict[str, str]]:
        return super().message(i, c + self.offset)


def test_after_a_redis_restart_no_partition_waits_on_a_lost_wakeup(deployment, watch):
    """Redis SIGKILLed under load and back 2 s later (AOF always): wake-ups taken as it died are never
    drained, and their marks come back with the AOF. Counted from when Redis answers again."""
    customers = Customers(count=20, each=6)

    def crash(n: int) -> None:
        if n == 40:
            deployment.redis.kill()
            later(2.0, deployment.redis.start)

    customers.write(deployment.base, during=crash)
    client = deployment.client()
    wait_for(lambda: customers.all_processed(client), 90, "every acknowledged message processed")
    wait_for(lambda: replies_sent(client, customers), 60, "every reply sent")
    slot, idle = watch.longest()
    print(f"longest idle {slot} {idle:.2f}s")
    assert idle <= BOUND, f"{slot} idle {idle:.1f}s with entries\n{deployment.logs()}"


def replies_sent(client: redis.Redis, customers: Customers) -> bool:
    """Each customer had an answer, and every answer written went out (a WhatsApp id on its entry)."""
    try:
        for wa_id in customers.acknowledged:
            out = [e for e in transcript(client, wa_id) if e.direction == "out"]
            if not out or not all(e.delivery and e.delivery.wa_message_id for e in out):
                return False
    except redis.ConnectionError:
        return False
    return True
