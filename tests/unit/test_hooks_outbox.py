"""Issue 33 item 2: deliveries at least once with one id, backoff, a breaker per hook, given up after the
retry window and replayed on demand; a worker that dies posting leaves its deliveries to another."""

from __future__ import annotations

import fakeredis
import pytest

from handover.hooks import outbox
from handover.hooks.outbox import Delivery

DAY = 24 * 3600.0
T0 = 1_800_000_000.0


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


def queued(client, hook: str = "hk_a", n: int = 1) -> list[Delivery]:  # type: ignore[no-untyped-def]
    made = [
        Delivery(id=f"msg_{i}_{hook}", hook=hook, type="resolved", at=T0, body="{}", first_at=T0)
        for i in range(n)
    ]
    with client.pipeline(transaction=True) as pipe:
        for delivery in made:
            outbox.queue(pipe, delivery)
        pipe.execute()
    return made


def test_a_delivery_queued_twice_is_one_delivery(client):
    queued(client)
    queued(client)
    assert [d.id for d in outbox.take(client, T0, 10)] == ["msg_0_hk_a"]


def test_a_taken_delivery_is_leased_and_comes_back_when_its_worker_died(client):
    queued(client)
    assert len(outbox.take(client, T0, 10)) == 1
    assert outbox.take(client, T0 + 1, 10) == []  # leased to the first worker
    again = outbox.take(client, T0 + outbox.LEASE_SECONDS + 1, 10)
    assert [d.id for d in again] == ["msg_0_hk_a"]


def test_failures_retry_with_the_same_id_and_growing_waits_then_delivered(client):
    [delivery] = queued(client)
    waits = []
    now = T0
    for _ in range(3):
        [taken] = outbox.take(client, now, 10)
        assert taken.id == delivery.id
        settled = outbox.settle(client, taken, 500, "answered 500", 0.01, now, DAY)
        assert settled.next_at is not None
        waits.append(settled.next_at - now)
        assert outbox.take(client, settled.next_at - 0.01, 10) == []  # not before its time
        now = settled.next_at
    assert waits[0] < waits[1] < waits[2]
    [taken] = outbox.take(client, now, 10)
    assert taken.attempts == 3 and taken.last_error == "answered 500"
    outbox.settle(client, taken, 200, None, 0.01, now, DAY)
    assert outbox.take(client, now + DAY, 10) == []
    counters = outbox.counters(client)
    assert counters["failed:hk_a"] == 3 and counters["sent:hk_a"] == 1
    log = outbox.attempts(client)
    assert [a["status"] for a in log] == [200, 500, 500, 500]
    assert {a["id"] for a in log} == {delivery.id}
    assert [a["status"] for a in outbox.attempts(client, failed=True)] == [500, 500, 500]


def test_five_failures_in_a_row_open_the_hooks_breaker_and_a_success_closes_it(client):
    deliveries = queued(client, n=6)
    for delivery in deliveries[: outbox.BREAKER_FAILURES]:
        outbox.settle(client, delivery, None, "no answer within 10 s", 10.0, T0, DAY)
    breaker = outbox.breakers(client)["hk_a"]
    assert breaker.is_open(T0 + 1)
    assert breaker.open_until == T0 + outbox.BREAKER_SECONDS
    assert outbox.counters(client)["breaker_opened:hk_a"] == 1
    outbox.settle(client, deliveries[5], 200, None, 0.1, T0 + 61, DAY)
    assert not outbox.breakers(client)["hk_a"].is_open(T0 + 62)
    assert outbox.breakers(client)["hk_a"].failures == 0


def test_past_the_retry_window_a_delivery_is_set_aside_and_replayed_on_demand(client):
    [delivery] = queued(client)
    settled = outbox.settle(client, delivery, 503, "answered 503", 0.1, T0 + DAY, DAY)
    assert settled.gave_up and settled.next_at is None
    assert outbox.take(client, T0 + 2 * DAY, 10) == []
    [aside] = outbox.given_up(client)
    assert aside.id == delivery.id and aside.last_error == "answered 503"
    assert outbox.replay(client, T0 + 2 * DAY, ids=["msg_other"]) == 0
    assert outbox.replay(client, T0 + 2 * DAY, ids=[delivery.id]) == 1
    assert outbox.given_up(client) == []
    [again] = outbox.take(client, T0 + 2 * DAY, 10)
    assert again.id == delivery.id and again.attempts == 0


def test_replay_since_takes_the_events_that_happened_since(client):
    old, new = queued(client, n=2)
    new.at = T0 + 3600
    for delivery in (old, new):
        outbox.settle(client, delivery, 500, "answered 500", 0.1, T0 + DAY, DAY)
    assert outbox.replay(client, T0 + DAY, since=T0 + 1800) == 1
    assert [d.id for d in outbox.given_up(client)] == [old.id]


def test_backoff_doubles_from_five_seconds_to_an_hour_with_jitter():
    assert 4.0 <= outbox.backoff(1) <= 6.0
    assert 8.0 <= outbox.backoff(2) <= 12.0
    assert 2880.0 <= outbox.backoff(30) <= 4320.0
