"""Issue 33 item 2 on a real redis-server with real receivers on loopback: a hanging receiver and a failing
one never hold up a healthy one; the failing one's breaker opens; every attempt of one event carries the
same webhook-id; the desk events keep flowing to the desk whatever the hooks do."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest

from app.metrics import HookFigures
from graph.transport import LoopThread
from handover import keys
from handover.events import publish
from handover.hooks import outbox
from handover.hooks.store import HookStore
from tests.fakes.hook_receiver import HookReceiver, three_receivers
from tests.support.metrics import samples
from tests.support.processes import wait_for
from workers.hooks import CONNECTIONS_PER_HOOK, HookLoop

ALLOW = ["127.0.0.1"]
EVENTS = 20


@pytest.fixture
def receivers() -> Iterator[dict[str, HookReceiver]]:
    with three_receivers() as made:
        yield made


def metrics(client: redis.Redis) -> dict[str, float]:
    """What /metrics shows of the hooks, read as the web process reads it."""
    registry = CollectorRegistry()
    registry.register(HookFigures(outbox.counters(client), outbox.breakers(client), time.time()))
    return samples(generate_latest(registry).decode())


def listening(client: redis.Redis) -> None:
    """The loop made its consumer group: what is published from now on reaches the hooks."""

    def made() -> bool | None:
        try:
            return bool(client.xinfo_groups(keys.DESK_EVENTS)) or None
        except redis.ResponseError:  # no stream yet
            return None

    wait_for(made, 10, "the hooks' consumer group")


def test_a_hanging_and_a_failing_receiver_never_hold_up_a_healthy_one(desk, receivers):
    client: redis.Redis = desk["client"]
    hooks = HookStore(client)
    made = {name: hooks.add(r.url, ["assigned"], by="ops", allow=ALLOW)[0] for name, r in receivers.items()}
    loop = HookLoop(client, LoopThread, 24 * 3600, ALLOW, idle_wait=0.05)
    loop.start()
    try:
        listening(client)
        for _ in range(EVENTS):
            with client.pipeline(transaction=True) as pipe:
                publish(pipe, "assigned", desk["id"], agent_id="ag_1", queue="general")
                pipe.execute()
        healthy = receivers["healthy"]
        wait_for(lambda: len(healthy.taken()) >= EVENTS or None, 30, "every event at the healthy receiver")
        ids = [r.headers["webhook-id"] for r in healthy.taken()]
        assert len(set(ids)) == EVENTS  # each event once
        assert all(i.endswith(made["healthy"].id) for i in ids)
        # the hanging receiver holds at most its own connections, never more
        assert 1 <= len(receivers["hanging"].taken()) <= CONNECTIONS_PER_HOOK
        # the failing one: five failures in a row opened its breaker, so it is left alone for a while
        failing = made["failing"].id
        wait_for(lambda: outbox.breakers(client).get(failing) or None, 10, "the failing hook's breaker")
        assert outbox.breakers(client)[failing].is_open(time.time())
        tried = len(receivers["failing"].taken())
        assert outbox.BREAKER_FAILURES <= tried <= EVENTS
        time.sleep(0.5)
        assert len(receivers["failing"].taken()) == tried  # nothing posted while the breaker is open
        failed = outbox.attempts(client, failed=True, limit=1000)
        assert {a["error"] for a in failed if a["hook"] == failing} == {"answered 500"}
        assert all(a["next_at"] for a in failed if a["hook"] == failing)
        shown = metrics(client)
        healthy_id = made["healthy"].id
        assert shown[f'handover_hook_deliveries_total{{hook="{healthy_id}",outcome="sent"}}'] == EVENTS
        assert shown[f'handover_hook_deliveries_total{{hook="{failing}",outcome="failed"}}'] == tried
        assert shown[f'handover_hook_breaker_open{{hook="{failing}"}}'] == 1
        assert shown[f'handover_hook_breaker_open{{hook="{healthy_id}"}}'] == 0
        assert shown[f'handover_hook_delivery_seconds_count{{hook="{healthy_id}"}}'] == EVENTS
    finally:
        loop.stop()


def test_every_attempt_of_one_event_carries_the_same_webhook_id(desk):
    client: redis.Redis = desk["client"]
    receiver = HookReceiver.start_in_thread(answer=500)
    try:
        hook, _ = HookStore(client).add(receiver.url, ["assigned"], by="ops", allow=ALLOW)
        loop = HookLoop(client, LoopThread, 24 * 3600, ALLOW, idle_wait=0.05)
        loop.start()
        try:
            listening(client)
            with client.pipeline(transaction=True) as pipe:
                publish(pipe, "assigned", desk["id"], agent_id="ag_1", queue="general")
                pipe.execute()
            wait_for(lambda: receiver.taken() or None, 10, "the first attempt")
            # the next attempt is due in about 5 s: bring it forward rather than wait
            [pending] = client.zrange(keys.HOOKS_DUE, 0, -1)
            receiver.answer = 200
            client.zadd(keys.HOOKS_DUE, {pending: time.time()})
            wait_for(lambda: len(receiver.taken()) >= 2 or None, 10, "the second attempt")
            first, second = receiver.taken()[:2]
            assert first.headers["webhook-id"] == second.headers["webhook-id"]
            assert first.body == second.body
            wait_for(lambda: client.hlen(keys.HOOKS_PENDING) == 0 or None, 10, "the delivery settled")
            assert outbox.counters(client)[f"sent:{hook.id}"] == 1
        finally:
            loop.stop()
    finally:
        receiver.stop()
