"""A customer's new number (Meta's `system` user_changed_number): their open conversation, history and
search terms move to it, through the real normaliser, processor and store (fakeredis); handover/rekey.py."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from handover import keys, search
from handover.keys import Lane
from handover.message import CustomerRef, SendOutcome
from handover.rekey import KIND
from handover.traffic.enqueue import InboundItem, OutboundJob, read_send
from handover.traffic.outbound import Sender
from tests.support.webhook import body, text_message
from tests.support.world import PNID, World
from webhooks.normalize import normalize

OLD, NEW = "5511987650001", "5521998770002"


def changed(old: str, new: str, at: float, n: int = 1) -> InboundItem:
    """Meta's `user_changed_number` system message (the shape of pywa's system.json), read by the real
    normaliser: filed under the new number."""
    system = {
        "from": old,
        "id": f"wamid.change.{n}",
        "timestamp": str(int(at)),
        "type": "system",
        "system": {
            "body": f"User Ana changed from {old} to {new}",
            "wa_id": new,
            "type": "user_changed_number",
        },
    }
    [message] = normalize(body([system], pnid=PNID)).messages
    return InboundItem(type="message", message=message)


def pointer(world: World, key: str) -> str | None:
    return world.sync.hget(keys.customer_key(PNID, key), "conversation")


def sends_to(world: World) -> list[str]:
    """Who every queued send (not a read receipt) goes to, in the order the conversation sends them."""
    jobs = [
        read_send(fields)
        for p in range(world.partitions)
        for _, fields in world.sync.xrange(keys.stream_key(Lane.OUTBOUND, p))
    ]
    return [j.request.to for j in sorted(jobs, key=lambda j: j.seq or 0) if j.request.kind != "mark_read"]


async def test_the_open_conversation_goes_on_under_the_new_number():
    world = World()
    before = await world.says(OLD, "oi")
    await world.deliver(changed(OLD, NEW, world.clock()))
    world.clock.advance(5)
    after = await world.says(NEW, "quero a segunda via do boleto")

    assert after.id == before.id
    assert (after.customer_key, after.wa_id) == (NEW, NEW)
    assert pointer(world, NEW) == before.id and pointer(world, OLD) is None
    [change] = [e for e in world.store.transcript(after.id) if e.kind == KIND]
    assert (change.author, change.content["from"], change.content["to"]) == ("system", OLD, NEW)
    assert change.content["change"] == "user_changed_number"
    # the bot's answers before went to the old number, those after to the new one
    assert sends_to(world)[0] == OLD and sends_to(world)[-1] == NEW
    # a supervisor finds it by either number; retention removes both (they are remembered)
    assert before.id in search.find(world.sync, NEW[-8:]) and before.id in search.find(world.sync, OLD[-8:])
    remembered = json.loads(world.sync.hget(keys.conversation_key(after.id), search.REMEMBERED))
    assert NEW in remembered and OLD in remembered


async def test_the_customers_history_moves_with_them():
    world = World()
    first = await world.says(OLD, "oi")
    world.clock.advance(2 * 24 * 3600)  # the bot's conversation ended idle: the next message starts another
    second = await world.says(OLD, "oi de novo")
    assert second.id != first.id
    await world.deliver(changed(OLD, NEW, world.clock()))

    assert world.store.past_conversations(world.current(NEW)) == [first.id]
    assert world.sync.lrange(keys.history_key(PNID, NEW), 0, -1) == [second.id, first.id]
    assert not world.sync.exists(keys.history_key(PNID, OLD))


async def test_the_old_number_no_longer_leads_to_the_customer():
    """Numbers are given to other people: a message from the old one, after the change, is somebody new."""
    world = World()
    theirs = await world.says(OLD, "oi")
    await world.deliver(changed(OLD, NEW, world.clock()))
    world.clock.advance(5)
    stranger = await world.says(OLD, "oi, comprei este chip")
    assert stranger.id != theirs.id and world.store.past_conversations(stranger) == []


async def test_a_message_from_the_new_number_before_the_change_is_folded_into_the_open_conversation():
    """Meta delivered the new number's first message before the change: it opened a conversation with the
    bot, which the change folds into the one that goes on (one open conversation, every message in it)."""
    world = World()
    theirs = await world.says(OLD, "oi")
    world.clock.advance(5)
    early = await world.says(NEW, "mudei de número")
    assert early.id != theirs.id
    await world.deliver(changed(OLD, NEW, world.clock() - 2))

    current = world.current(NEW)
    assert current.id == theirs.id and current.wa_id == NEW
    assert world.store.conversation(early.id).state == "resolved"
    texts = [e.text for e in world.store.transcript(theirs.id) if e.direction == "in"]
    assert "mudei de número" in texts and "oi" in texts
    assert world.store.past_conversations(current) == [early.id]


async def test_a_change_for_a_customer_never_seen_opens_nothing():
    world = World()
    with capture_logs() as logs:
        await world.deliver(changed(OLD, NEW, world.clock()))
    assert pointer(world, NEW) is None and pointer(world, OLD) is None
    assert "customer_rekey_unknown" in [e["event"] for e in logs]


async def test_a_change_racing_the_old_numbers_partition_is_redone_from_what_is_there_now(monkeypatch):
    """The commit expects the customer pointers as the batch read them: when the old number's partition
    opens a conversation meanwhile, the re-key is refused and redone, and moves that one."""
    world = World()
    theirs = await world.says(OLD, "oi")
    await world.ingest(changed(OLD, NEW, world.clock()))
    meanwhile = "c0ffee"
    locate = world.store.locate

    def racing(statuses):  # between the batch's reads and its commit
        monkeypatch.setattr(world.store, "locate", locate)
        world.sync.hset(keys.customer_key(PNID, OLD), "conversation", meanwhile)
        world.sync.hset(keys.conversation_key(meanwhile), mapping=_hash_like(world, theirs.id, meanwhile))
        return locate(statuses)

    monkeypatch.setattr(world.store, "locate", racing)
    with capture_logs() as logs:
        world.drain_all()  # refused as stale: the change stays pending
    assert "batch_stale" in [e["event"] for e in logs]
    assert world.store.conversation(theirs.id).customer_key == OLD  # nothing of the first try applied
    world.drain_all()  # the partition was woken for it: drained again
    assert pointer(world, NEW) == meanwhile and pointer(world, OLD) is None
    assert world.store.conversation(meanwhile).customer_key == NEW


def _hash_like(world: World, conversation_id: str, new_id: str) -> dict[str, str]:
    raw = world.sync.hgetall(keys.conversation_key(conversation_id))
    return raw | {"id": new_id}


@pytest.mark.parametrize("user_ids", [False, True])
async def test_a_customer_keyed_on_their_user_id_moves_to_the_new_one(user_ids):
    """With business-scoped ids the key is the user id; the change names the previous one."""
    world = World()
    old = CustomerRef(phone_number_id=PNID, wa_id=OLD, user_id="BR.111" if user_ids else None)
    said = text_message("wamid.first", OLD, "oi", int(world.clock()))
    if user_ids:
        said["from_user_id"] = "BR.111"
    [message] = normalize(body([said], pnid=PNID)).messages
    await world.deliver(InboundItem(type="message", message=message))
    theirs = world.store.current_conversation(old)
    assert theirs is not None
    system = {
        "from": OLD,
        "id": "wamid.change",
        "timestamp": str(int(world.clock())),
        "type": "system",
        "system": {"body": "changed", "wa_id": NEW, "type": "user_changed_number"}
        | ({"user_id": "BR.222", "previous_user_id": "BR.111"} if user_ids else {}),
    }
    [change] = normalize(body([system], pnid=PNID)).messages
    await world.deliver(InboundItem(type="message", message=change))
    moved = world.store.conversation(theirs.id)
    assert (moved.customer_key, moved.wa_id) == ("BR.222" if user_ids else NEW, NEW)
    assert pointer(world, moved.customer_key) == theirs.id and pointer(world, old.key) is None


async def test_a_message_from_the_new_number_in_the_same_batch_before_the_change_is_folded_too():
    world = World()
    theirs = await world.says(OLD, "oi")
    early = text_message("wamid.early", NEW, "mudei de número", int(world.clock()) - 1)
    [message] = normalize(body([early], pnid=PNID)).messages
    await world.ingest(InboundItem(type="message", message=message), changed(OLD, NEW, world.clock()))
    world.drain_all()

    current = world.current(NEW)
    assert current.id == theirs.id
    assert "mudei de número" in [e.text for e in world.store.transcript(theirs.id)]
    [folded] = world.store.past_conversations(current)
    assert world.store.conversation(folded).state == "resolved"
    assert pointer(world, NEW) == theirs.id


async def test_a_new_number_under_the_same_user_id_only_changes_where_replies_go():
    world = World()
    said = text_message("wamid.first", OLD, "oi", int(world.clock())) | {"from_user_id": "BR.111"}
    [message] = normalize(body([said], pnid=PNID)).messages
    await world.deliver(InboundItem(type="message", message=message))
    system = {
        "from": OLD,
        "from_user_id": "BR.111",
        "id": "wamid.change",
        "timestamp": str(int(world.clock())),
        "type": "system",
        "system": {"body": "changed", "wa_id": NEW, "type": "user_changed_number", "user_id": "BR.111"},
    }
    [change] = normalize(body([system], pnid=PNID)).messages
    await world.deliver(InboundItem(type="message", message=change))
    theirs = world.sync.hget(keys.customer_key(PNID, "BR.111"), "conversation")
    moved = world.store.conversation(theirs)
    assert (moved.customer_key, moved.wa_id, moved.address) == ("BR.111", NEW, NEW)
    assert world.sync.lrange(keys.history_key(PNID, "BR.111"), 0, -1) == [theirs]


async def test_a_reply_queued_to_the_old_number_goes_to_the_new_one():
    """The old number may be given to someone else: what was queued before the change but sent after it
    goes where the conversation answers now (the Sender readdresses it), never to the old number."""
    world = World()  # no Sender yet: the bot's answer waits in its stream, addressed as it was queued
    await world.says(OLD, "oi")
    await world.deliver(changed(OLD, NEW, world.clock()))
    assert sends_to(world) == [OLD]
    sent: list[OutboundJob] = []

    def meta(groups, keep_alive):  # every send taken
        sent.extend(job for group in groups for job in group)
        return {
            job.id: SendOutcome(ok=True, wa_message_id=f"wamid.{job.id}") for group in groups for job in group
        }

    world.sender = Sender(store=world.store, send_many=meta)
    with capture_logs() as logs:
        world.drain_outbound()
    replies = [job for job in sent if job.request.kind != "mark_read"]
    assert [job.request.to for job in replies] == [NEW]
    assert replies[0].request.text  # the bot's answer itself, only readdressed
    assert [e["event"] for e in logs if e["event"] == "send_readdressed"] == ["send_readdressed"]
