"""Retention on a fake Redis: closed conversations and those left with the bot are deleted with everything of
theirs once their last change is older than the retention; open and recent ones stay untouched."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from app.web import build_app
from config.settings import Settings
from handover import botstats, keys, search
from handover.agents import Role
from handover.errors import NotFound
from handover.history import customer_history
from handover.keys import Lane
from handover.message import DeliveryStatus, StatusUpdate
from handover.retention import DAY_SECONDS, LATER_SECONDS, Retention, file_existing
from handover.traffic.enqueue import InboundItem
from tests.support.leftovers import leftovers, resolved
from tests.support.world import PNID, World

DAYS = 90
PAST = DAYS * DAY_SECONDS + 1  # a retention and a second


def retention(world: World) -> Retention:
    return Retention(world.sync, DAYS, world.partitions, clock=world.clock)


def hold_extras(world: World, conversation_id: str) -> None:
    """The per-conversation keys a short test does not make by itself: an agent who declined it, what the
    customer was told of their wait, the identity values typed so far."""
    world.sync.sadd(keys.skip_key(conversation_id), "agent-x")
    world.sync.hset(keys.announced_key(conversation_id), mapping={"wait": "5", "at": "1"})
    world.sync.set(keys.pending_identity_key(conversation_id), "{}")


async def test_closed_and_idle_ones_go_with_everything_theirs_while_open_and_recent_ones_stay(world):
    closed = await resolved(world, "5511900000001")
    idle = (await world.says("5511900000002", "quero trocar um produto")).id
    held = await resolved(world, "5511900000003", resolve=False)
    waiting = (await world.says("5511900000004", "quero falar com um atendente")).id
    hold_extras(world, closed)
    hold_extras(world, idle)
    assert world.sync.zscore(keys.BOT_IDLE, idle) is not None
    world.clock.advance(PAST)
    recent = (await world.says("5511900000005", "quero trocar um produto")).id
    kept = {c: world.sync.hgetall(keys.conversation_key(c)) for c in (held, waiting, recent)}

    with capture_logs() as logs:
        assert retention(world).sweep() == 1
    assert leftovers(world.sync, closed) == []
    assert world.sync.exists(keys.customer_key(PNID, "5511900000001")) == 0
    # the bot's outcome is counted first (end_idle), then it goes
    assert world.sync.exists(keys.conversation_key(idle)) == 1
    assert botstats.end_idle(world.sync, world.clock()) == 1
    world.clock.advance(LATER_SECONDS)
    with capture_logs() as later:
        assert retention(world).sweep() == 1
    assert leftovers(world.sync, idle) == []

    for conversation_id, fields in kept.items():
        assert world.sync.hgetall(keys.conversation_key(conversation_id)) == fields
        assert world.store.transcript(conversation_id)
    for conversation_id in (held, waiting):  # looked at, filed again at now: they close later, if ever
        assert world.sync.zscore(keys.RETAINED, conversation_id) == world.clock() - LATER_SECONDS
    assert world.sync.hget(keys.COUNTERS, "conversations_expired") == "2"
    said = [e for e in logs + later if e["event"] == "conversations_expired"]
    assert [(e["log_level"], e["deleted"]) for e in said] == [("info", 1), ("info", 1)]
    with capture_logs() as quiet:
        assert retention(world).sweep() == 0
    assert quiet == []  # nothing deleted, nothing said


async def test_the_last_change_counts_not_the_start(world):
    conversation = await resolved(world, "5511900000011")
    world.clock.advance(PAST - 3600)
    world.store.client.hset(keys.conversation_key(conversation), "updated_at", world.clock())  # a change
    world.clock.advance(3600)
    assert retention(world).sweep() == 0
    assert world.sync.zscore(keys.RETAINED, conversation) == world.clock() - 3600  # filed at its last change
    world.clock.advance(PAST - 3600)
    assert retention(world).sweep() == 1


async def test_a_conversation_touched_after_it_was_found_due_is_kept(world):
    idle = (await world.says("5511900000021", "quero trocar um produto")).id
    botstats.end_idle(world.sync, world.clock() + botstats.IDLE_SECONDS)
    world.clock.advance(PAST)
    sweep = retention(world)
    found = sweep.inspect(sweep.due(world.clock()))
    assert [f.conversation_id for f in found] == [idle]
    # the customer writes meanwhile: the bot's conversation ends now, and a new one starts
    fresh = await world.says("5511900000021", "oi de novo")
    assert sweep.delete(found, world.clock()) == ["recent"]
    assert world.store.conversation(idle).state == "resolved"
    assert [p.conversation.id for p in customer_history(world.store, PNID, "5511900000021")] == [
        fresh.id,
        idle,
    ]
    assert world.sync.zscore(keys.RETAINED, idle) == world.clock()


async def test_the_customers_current_one_waits_while_their_partition_is_being_drained(world):
    conversation = await resolved(world, "5511900000031")
    world.clock.advance(PAST)
    customer = world.current("5511900000031")
    lease = keys.lease_key(Lane.INBOUND, keys.partition_of(customer.routing_key, world.partitions))
    world.sync.set(lease, "a drainer")
    assert retention(world).sweep() == 0  # a batch may have read it and write it when it commits
    assert world.sync.zscore(keys.RETAINED, conversation) == world.clock() - PAST + 1 + LATER_SECONDS
    world.sync.delete(lease)
    world.clock.advance(LATER_SECONDS)
    assert retention(world).sweep() == 1
    assert leftovers(world.sync, conversation) == []


async def test_an_earlier_conversation_goes_and_whatever_lists_it_skips_it(world):
    wa_id = "5511900000041"
    first = await resolved(world, wa_id)
    world.clock.advance(PAST - 2 * DAY_SECONDS)
    second = (await world.says(wa_id, "quero falar com um atendente de novo")).id
    assert world.store.packet(second).past_conversations == [first]
    world.clock.advance(2 * DAY_SECONDS)

    assert retention(world).sweep() == 1
    assert leftovers(world.sync, first, besides=(keys.packet_key(second),)) == []
    assert world.store.packet(second).past_conversations == []  # read without the deleted one
    assert [p.conversation.id for p in customer_history(world.store, PNID, wa_id)] == [second]
    assert world.current(wa_id).id == second  # still the customer's current one
    with pytest.raises(NotFound):
        world.assignments.conversation_for(world.available_agent("Bia", ["general"]), first)


async def test_the_desk_answers_404_for_a_deleted_one_and_lists_the_customers_kept_ones(
    world, aiohttp_client
):
    wa_id = "5511900000071"
    first = await resolved(world, wa_id)
    world.clock.advance(PAST - DAY_SECONDS)
    second = (await world.says(wa_id, "quero falar com um atendente de novo")).id
    world.clock.advance(DAY_SECONDS)
    assert retention(world).sweep() == 1

    settings = Settings(
        redis_url="redis://unused",
        whatsapp_access_token="t",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
        handover_partitions=world.partitions,
    )
    http = await aiohttp_client(build_app(settings, redis_client=world.aclient, sync_client=world.sync))
    _, token = world.agents.add("Bia", ["general"], capacity=5, role=Role.SUPERVISOR)
    auth = {"Authorization": f"Bearer {token}"}
    gone = await http.get(f"/api/v1/conversations/{first}", headers=auth)
    assert gone.status == 404 and (await gone.json())["error"]["code"] == "not_found"
    opened = await (await http.get(f"/api/v1/conversations/{second}", headers=auth)).json()
    assert opened["packet"]["past_conversations"] == []
    listed = await http.get(
        f"/api/v1/customers/{wa_id}/conversations", params={"phone_number_id": PNID}, headers=auth
    )
    assert [(c["id"], c["current"]) for c in await listed.json()] == [(second, True)]


async def test_search_members_go_even_after_the_customer_changed_their_name(world):
    conversation = await resolved(world, "5511900000051")
    filed = world.sync.zrangebylex(keys.SEARCH, "-", "+")
    assert f"cliente{search.SEP}{conversation}" in filed
    world.sync.hset(keys.conversation_key(conversation), "profile_name", "Renata Dias")  # a later name
    world.clock.advance(PAST)
    assert retention(world).sweep() == 1
    assert not any(m.endswith(conversation) for m in world.sync.zrangebylex(keys.SEARCH, "-", "+"))


async def test_a_status_for_a_deleted_conversations_message_changes_nothing(world):
    conversation = await resolved(world, "5511900000061")
    reply = next(e for e in world.store.transcript(conversation) if e.direction == "out")
    world.sync.set(keys.wamid_key("wamid.out.9"), f"{conversation} {reply.id}", ex=keys.WAMID_TTL_SECONDS)
    world.clock.advance(PAST)
    assert retention(world).sweep() == 1
    status = StatusUpdate(
        message_id="wamid.out.9",
        status=DeliveryStatus.READ,
        timestamp=int(world.clock()),
        phone_number_id=PNID,
        recipient_id="5511900000061",
    )
    await world.deliver(InboundItem(type="status", status=status))
    assert leftovers(world.sync, conversation) == [keys.wamid_key("wamid.out.9")]  # expiring on its own


async def test_conversations_from_before_the_index_are_filed_a_step_at_a_time_then_expire(world, monkeypatch):
    old = [await resolved(world, f"55119000001{i:02}") for i in range(5)]
    # as an earlier version left them: no retention index, no remembered search terms
    world.sync.delete(keys.RETAINED)
    for conversation in old:
        world.sync.hdel(keys.conversation_key(conversation), search.REMEMBERED)
    monkeypatch.setattr("handover.retention.SCAN_COUNT", 2)
    looked = 0
    while world.sync.get(keys.UPGRADED_RETAINED) != "done":
        looked += file_existing(world.sync, steps=1)
    assert looked == 5
    assert sorted(world.sync.zrange(keys.RETAINED, 0, -1)) == sorted(old)
    assert file_existing(world.sync) == 0  # once per Redis
    world.clock.advance(PAST)
    assert retention(world).sweep() == 5
    assert all(leftovers(world.sync, c) == [] for c in old)


async def test_a_whole_backlog_goes_in_bounded_batches(world, monkeypatch):
    monkeypatch.setattr("handover.retention.BATCH", 2)
    monkeypatch.setattr("handover.retention.BATCHES_PER_RUN", 2)
    old = [(await world.says(f"55119000002{i:02}", "quero trocar um produto")).id for i in range(5)]
    botstats.end_idle(world.sync, world.clock() + botstats.IDLE_SECONDS)
    world.clock.advance(PAST)
    assert retention(world).sweep() == 4  # two batches of two: the rest waits for the next run
    assert retention(world).sweep() == 1
    assert all(leftovers(world.sync, c) == [] for c in old)
    assert retention(world).sweep() == 0  # idempotent


def test_the_retention_is_a_whole_number_of_days_from_one():
    assert Settings().handover_retention_days == 90
    assert Settings(handover_retention_days=1).handover_retention_days == 1
    with pytest.raises(ValidationError):
        Settings(handover_retention_days=0)


def test_the_remembered_terms_are_json_in_the_hash():
    members = search.members_of("c1", json.dumps(["ana"]), "5511987654321", None, "Bia")
    assert f"ana{search.SEP}c1" in members and f"bia{search.SEP}c1" in members
    assert f"4321{search.SEP}c1" in members
