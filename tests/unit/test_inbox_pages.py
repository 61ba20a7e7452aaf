"""The desk's list a page at a time (handover/inbox.py over the activity index), on a fake Redis: newest
activity first, cursors that neither repeat nor skip, each filter, who sees what (agents, supervisors,
offers), index entries left behind skipped, bad limits and cursors refused, and data written before the
index existed filed on the first read."""

from __future__ import annotations

import base64
import json

import pytest

from desk.models import ConversationSummary
from handover import activity, keys
from handover.agents import Agent, Role
from handover.assignment.queues import enqueue
from handover.conversation import Conversation, ConversationState
from handover.errors import Invalid
from handover.inbox import MAX_LIMIT, Filters, Inbox
from handover.numbers import register
from handover.rules.model import Priority
from handover.transfers import TransferRequest
from handover.warm import WarmTransfers
from tests.support.waiting import seed_waiting
from tests.support.world import PNID, T0, World

QUEUED, ASSIGNED, TRANSFERRING = (
    ConversationState.QUEUED,
    ConversationState.ASSIGNED,
    ConversationState.TRANSFERRING,
)


@pytest.fixture
def world() -> World:
    """A fresh deployment: the index built (empty) before anything is written, so every test below reads
    what the writers filed, not what a first read's rebuild would."""
    fresh = World()
    inbox_of(fresh).rebuild()
    return fresh


def inbox_of(world: World) -> Inbox:
    return Inbox(world.store, world.agents, world.loaded)


def supervisor() -> Agent:
    return Agent(id="chefe", name="Chefe", queues=[], capacity=5, role=Role.SUPERVISOR, created_at=T0)


def every_page(inbox: Inbox, agent: Agent, filters: Filters | None = None, limit: int = 50) -> list[str]:
    """The pages one after another, as a client follows X-Next-Cursor: full pages until the last, and no
    conversation twice."""
    ids: list[str] = []
    cursor = None
    for _ in range(1000):
        page = inbox.page(agent, filters or Filters(), limit, cursor)
        ids += [c.id for c in page.conversations]
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(page.conversations) == limit
    assert len(ids) == len(set(ids)), "a conversation came twice"
    return ids


def newest_first(conversations: list[Conversation]) -> list[str]:
    return [c.id for c in sorted(conversations, key=lambda c: (c.updated_at, c.id), reverse=True)]


def test_pages_come_newest_first_and_a_cursor_neither_repeats_nor_skips(world):
    general = seed_waiting(world.sync, [(f"55110000{i:04d}", "general", T0 - 1000 + i) for i in range(37)])
    billing = seed_waiting(world.sync, [(f"55111111{i:04d}", "billing", T0 - 990 + 2 * i) for i in range(9)])
    # the same instant for several: Redis orders them by member, and so must the cursor
    tied = seed_waiting(world.sync, [(f"55112222{i:04d}", "general", T0 - 500) for i in range(6)])
    everyone = newest_first(general + billing + tied)
    ana = world.available_agent("Ana", ["general"])
    inbox = inbox_of(world)

    for limit in (1, 4, 7, 50, MAX_LIMIT):
        assert every_page(inbox, supervisor(), limit=limit) == everyone
    assert every_page(inbox, ana, limit=5) == newest_first(general + tied)
    assert inbox.page(supervisor()).conversations[0].id == everyone[0]
    assert len(inbox.page(supervisor()).conversations) == 50  # the default page


async def test_a_customer_writing_moves_their_conversation_to_the_top(world):
    first, second = seed_waiting(
        world.sync, [("5511000001", "general", T0 - 60), ("5511000002", "general", T0)], pnid=PNID
    )
    inbox = inbox_of(world)
    assert [c.id for c in inbox.page(supervisor()).conversations] == [second.id, first.id]
    world.clock.advance(30)

    await world.says("5511000001", "ainda estou aqui")

    assert world.current("5511000001").id == first.id
    assert [c.id for c in inbox.page(supervisor()).conversations] == [first.id, second.id]


def test_agents_see_theirs_their_queues_and_offers_to_them_and_filters_only_narrow(world):
    ana = world.available_agent("Ana", ["general"])
    bia = world.available_agent("Bia", ["general", "billing"])
    general = seed_waiting(world.sync, [(f"55110000{i:04d}", "general", T0 - 100 + i) for i in range(5)])
    billing = seed_waiting(world.sync, [(f"55111111{i:04d}", "billing", T0 - 95 + i) for i in range(3)])
    world.clock.advance(10)
    a1 = world.assignments.claim_next(ana)
    world.clock.advance(1)
    a2 = world.assignments.claim_next(ana)
    world.clock.advance(1)
    b1 = world.assignments.claim_next(bia)
    world.clock.advance(1)
    b2 = world.assignments.claim_next(bia)
    assert a1 and a2 and b1 and b2
    assert [a1.id, a2.id, b1.id, b2.id] == [general[0].id, general[1].id, general[2].id, general[3].id]
    world.clock.advance(1)
    warm = WarmTransfers(world.store, world.agents, world.loaded, world.partitions, clock=world.clock)
    warm.offer(bia, b2.id, TransferRequest(reason="vendas", to_agent=ana.id, mode="warm"))
    inbox, boss = inbox_of(world), supervisor()

    def listed(agent: Agent, **filters: object) -> list[str]:
        return every_page(inbox, agent, Filters(**filters), limit=2)  # type: ignore[arg-type]

    waiting_general = general[4].id
    assert listed(ana) == [b2.id, a2.id, a1.id, waiting_general]  # the offer is the newest change
    assert listed(ana, agent_id=bia.id) == [b2.id]  # a colleague's: only what they offered me
    assert listed(ana, agent_id=ana.id) == [a2.id, a1.id]
    assert listed(ana, state=QUEUED) == [waiting_general]
    assert listed(ana, state=ASSIGNED) == [a2.id, a1.id]
    assert listed(ana, state=TRANSFERRING) == [b2.id]
    assert listed(ana, queue="billing") == []  # not my queue, and nothing of it is mine
    assert listed(ana, state=ConversationState.RESOLVED) == []
    assert listed(bia) == [b2.id, b1.id, *newest_first(billing), waiting_general]
    assert listed(bia, queue="billing") == newest_first(billing)
    assert listed(bia, state=TRANSFERRING) == [b2.id]  # hers, offered to ana meanwhile

    everyone = [b2.id, b1.id, a2.id, a1.id, *newest_first(billing), waiting_general]
    assert listed(boss) == everyone
    assert listed(boss, state=QUEUED) == [*newest_first(billing), waiting_general]
    assert listed(boss, state=QUEUED, queue="general") == [waiting_general]
    assert listed(boss, queue="general") == [b2.id, b1.id, a2.id, a1.id, waiting_general]
    assert listed(boss, agent_id=ana.id) == [a2.id, a1.id]
    assert listed(boss, agent_id=bia.id, state=TRANSFERRING) == [b2.id]
    assert listed(boss, agent_id=bia.id, state=QUEUED) == []

    world.clock.advance(1)
    world.assignments.resolve(ana, a1.id)  # finish.lua takes it out of the index
    world.clock.advance(1)
    warm.accept(world.agents.get(ana.id), b2.id)
    assert listed(ana) == [b2.id, a2.id, waiting_general]
    assert listed(boss, agent_id=bia.id) == [b1.id]


def test_index_entries_left_behind_are_skipped_without_leaving_a_page_short(world):
    ana = world.available_agent("Ana", ["general"])
    waiting = seed_waiting(world.sync, [(f"55110000{i:04d}", "general", T0 - 100 + i) for i in range(9)])
    taken = world.assignments.claim_next(ana)
    assert taken is not None
    world.assignments.resolve(ana, taken.id)
    # what a missed update would leave: a closed one still filed, waiting ones filed in another queue and
    # as held, one that is gone
    world.sync.zadd(keys.ACTIVITY_WAITING, {taken.id: T0 + 50, "vanished": T0 + 30})
    world.sync.zadd(keys.activity_waiting_key(PNID, "general"), {taken.id: T0 + 50, "vanished": T0 + 30})
    world.sync.zadd(keys.activity_waiting_key(PNID, "billing"), {waiting[5].id: T0 + 40})
    world.sync.zadd(keys.ACTIVITY_HELD, {waiting[4].id: T0 + 46, taken.id: T0 + 45})
    world.sync.zadd(keys.activity_held_key(ana.id), {waiting[3].id: T0 + 45, "vanished": T0 + 44})
    open_ones = newest_first(waiting[1:])

    assert every_page(inbox_of(world), supervisor(), limit=3) == open_ones
    assert every_page(inbox_of(world), ana, limit=2) == open_ones
    assert every_page(inbox_of(world), ana, Filters(state=ASSIGNED)) == []
    assert every_page(inbox_of(world), supervisor(), Filters(queue="billing")) == []


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, 10_000])
def test_a_limit_out_of_bounds_is_refused(world, limit):
    with pytest.raises(Invalid, match="limit"):
        inbox_of(world).page(supervisor(), limit=limit)


def _b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "abc",
        _b64(b"\xff\xfe"),
        _b64({"at": 1, "id": "x"}),
        _b64([1]),
        _b64(["x", "y"]),
        _b64([True, "x"]),
        _b64([1, ""]),
        _b64([1, 2]),
        _b64([1, "x" * 201]),
        _b64(b'[1e999, "x"]'),  # not a finite time
    ],
)
def test_a_malformed_cursor_is_refused(world, cursor):
    with pytest.raises(Invalid, match="cursor"):
        inbox_of(world).page(supervisor(), cursor=cursor)


def test_what_was_written_before_the_index_is_filed_on_the_first_read():
    """Conversations stored as the services left them before the index existed: in their queue or an
    agent's load set, nothing in the index."""
    world = World()
    ana = world.available_agent("Ana", ["general"])
    register(world.sync, PNID)  # the number reached the webhook, as every conversation's did
    old = []
    with world.sync.pipeline(transaction=False) as pipe:
        for i, state in enumerate([QUEUED, QUEUED, ASSIGNED, ConversationState.RESOLVED]):
            conversation = Conversation.start(world.customer(f"5511{i:08d}"), T0 - 100 + i)
            conversation.state, conversation.queue = state, "general"
            if state == ASSIGNED:
                conversation.agent_id = ana.id
                pipe.sadd(keys.agent_load_key(ana.id), conversation.id)
            if state == QUEUED:
                enqueue(pipe, PNID, "general", conversation.id, Priority.NORMAL, conversation.updated_at)
            world.store.save_conversation(pipe, conversation)
            old.append(conversation)
        pipe.execute()
    assert not activity.is_built(world.sync)

    assert every_page(inbox_of(world), supervisor(), limit=2) == newest_first(old[:3])
    assert activity.is_built(world.sync)
    assert world.sync.zrange(keys.activity_held_key(ana.id), 0, -1) == [old[2].id]
    assert every_page(inbox_of(world), ana, Filters(state=QUEUED)) == newest_first(old[:2])


def test_a_listed_conversation_summarises_as_the_whole_one_does(world):
    """The list reads only the fields a summary shows (inbox.LISTED): a summary made from them is the
    summary of the whole conversation, offer, survey and window included."""
    ana = world.available_agent("Ana", ["general"])
    bia = world.available_agent("Bia", ["general"])
    [waiting] = seed_waiting(world.sync, [("5511000001", "general", T0 - 100)], pnid=PNID)
    taken = world.assignments.claim_next(ana)
    assert taken is not None and taken.id == waiting.id
    warm = WarmTransfers(world.store, world.agents, world.loaded, world.partitions, clock=world.clock)
    warm.offer(ana, taken.id, TransferRequest(reason="vendas", to_agent=bia.id, note="VIP", mode="warm"))
    world.store.client.hset(keys.conversation_key(taken.id), mapping={"csat": "great", "csat_score": "5"})

    whole = world.store.conversation(taken.id)
    [listed] = inbox_of(world).listed([taken.id])
    assert whole is not None and listed is not None
    for now in (T0, T0 + 2 * 24 * 3600):  # the window open, then closed
        assert ConversationSummary.of(listed, now) == ConversationSummary.of(whole, now)
    assert inbox_of(world).listed(["gone"]) == [None]
