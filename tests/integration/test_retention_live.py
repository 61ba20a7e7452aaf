"""Retention on a real redis-server: the deleting script as Redis runs it, the race with the worker's batches,
the upgrade of conversations stored before the retention index, and the job as a worker runs it."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from app import wiring
from config.settings import Settings
from handover import botstats, keys, search
from handover.message import InboundKind, InboundMessage
from handover.retention import DAY_SECONDS, DONE, LATER_SECONDS, Retention, file_existing
from handover.traffic.enqueue import InboundItem
from tests.support.leftovers import leftovers, resolved
from tests.support.world import World
from workers import jobs

pytestmark = pytest.mark.integration

DAYS = 30
PAST = DAYS * DAY_SECONDS + 1


@pytest.fixture
async def world(redis_url):
    world = World(redis_url=redis_url, partitions=4)
    yield world
    await world.close()


def retention(world: World) -> Retention:
    return Retention(world.sync, DAYS, world.partitions, clock=world.clock)


def fragments(client: redis.Redis) -> list[str]:
    """Conversation hashes without their id or state: what a write after a delete would leave."""
    return [
        key
        for key in client.scan_iter(match=keys.conversation_key("*"), _type="hash")
        if None in client.hmget(key, ["id", "state", "created_at"])
    ]


async def test_what_is_due_goes_whole_and_the_rest_stays(world):
    closed = await resolved(world, "5511900001001")
    idle = (await world.says("5511900001002", "quero trocar um produto")).id
    held = await resolved(world, "5511900001003", resolve=False)
    world.clock.advance(botstats.IDLE_SECONDS)
    assert botstats.end_idle(world.sync, world.clock()) == 1
    world.clock.advance(PAST - botstats.IDLE_SECONDS)
    recent = await resolved(world, "5511900001004")
    kept = {c: world.sync.hgetall(keys.conversation_key(c)) for c in (held, recent)}

    assert retention(world).sweep() == 2
    for conversation_id in (closed, idle):
        assert leftovers(world.sync, conversation_id) == []
    for conversation_id, fields in kept.items():
        assert world.sync.hgetall(keys.conversation_key(conversation_id)) == fields
        assert world.sync.exists(keys.transcript_key(conversation_id), keys.entries_key(conversation_id)) == 2
    assert world.sync.hget(keys.COUNTERS, "conversations_expired") == "2"
    assert retention(world).sweep() == 0  # idempotent


async def test_one_touched_after_it_was_found_due_is_kept(world):
    conversation = await resolved(world, "5511900002001")
    world.clock.advance(PAST)
    sweep = retention(world)
    found = sweep.inspect(sweep.due(world.clock()))
    assert [f.conversation_id for f in found] == [conversation]
    # an agent's late change lands between the read and the delete
    world.sync.hset(keys.conversation_key(conversation), "updated_at", world.clock())
    assert sweep.delete(found, world.clock()) == ["recent"]
    assert world.store.conversation(conversation) is not None
    assert world.sync.zscore(keys.RETAINED, conversation) == world.clock()
    world.clock.advance(PAST)
    assert retention(world).sweep() == 1
    assert leftovers(world.sync, conversation) == []


async def test_sweeping_while_the_worker_ends_the_same_conversations_leaves_no_fragment(world):
    customers = [f"55119000030{i:02}" for i in range(20)]
    idle = [(await world.says(c, "quero trocar um produto")).id for c in customers]
    world.clock.advance(botstats.IDLE_SECONDS)
    assert botstats.end_idle(world.sync, world.clock()) == len(idle)
    world.clock.advance(PAST)
    for n, customer in enumerate(customers):  # every customer writes again as the sweep runs
        await world.ingest(*_said(world, customer, n))
    drained = threading.Thread(target=world.drain_all)
    drained.start()
    sweep = retention(world)
    for _ in range(50):
        sweep.sweep()
    drained.join(timeout=60)
    world.clock.advance(LATER_SECONDS)
    sweep.sweep()

    assert fragments(world.sync) == []
    for customer, old in zip(customers, idle, strict=True):
        current = world.current(customer)  # each wrote once more: a new conversation, whole
        assert current.id != old and current.state == "bot"
        ended = world.store.conversation(old)  # ended by the worker before the sweep came, or deleted
        assert ended is None or (
            ended.state == "resolved" and ended.updated_at == world.clock() - LATER_SECONDS
        )
        if ended is None:
            assert leftovers(world.sync, old) == []


def _said(world: World, wa_id: str, n: int) -> list[InboundItem]:
    message = InboundMessage(
        id=f"wamid.again.{n}",
        customer=world.customer(wa_id),
        timestamp=int(world.clock()),
        kind=InboundKind.TEXT,
        wa_type="text",
        text="oi de novo",
    )
    return [InboundItem(type="message", message=message)]


async def test_conversations_stored_before_the_index_are_filed_once_then_expire(world):
    old = [await resolved(world, f"55119000040{i:02}") for i in range(3)]
    opened = await resolved(world, "5511900004099", resolve=False)
    # as an earlier version left them: no retention index, no remembered search terms
    world.sync.delete(keys.RETAINED)
    for conversation_id in [*old, opened]:
        world.sync.hdel(keys.conversation_key(conversation_id), search.REMEMBERED)
    world.clock.advance(PAST)

    assert retention(world).sweep() == 3  # the run files them first, then deletes the due ones
    assert world.sync.get(keys.UPGRADED_RETAINED) == DONE
    assert all(leftovers(world.sync, c) == [] for c in old)
    assert world.sync.zscore(keys.RETAINED, opened) == world.clock()  # open: looked at again later
    assert file_existing(world.sync) == 0  # once per Redis


async def test_the_worker_runs_it_as_a_job(redis_url, monkeypatch):
    world = World(redis_url=redis_url, now=time.time() - 2 * DAY_SECONDS)
    try:
        conversation = await resolved(world, "5511900005001")
        settings = Settings(redis_url=redis_url, handover_retention_days=1, handover_partitions=2)
        runtime = wiring.worker_runtime(settings, world.sync)
        monkeypatch.setattr("workers.runtime._current", runtime)
        assert jobs.expire_conversations() == 1
        assert leftovers(world.sync, conversation) == []
        assert world.store.current_conversation(world.customer("5511900005001")) is None
        runtime.close()
    finally:
        await world.close()
