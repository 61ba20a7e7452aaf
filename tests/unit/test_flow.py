"""The spine on fakeredis: ingest → drain inbound → drain outbound → statuses, with no network."""

from __future__ import annotations

import pytest

from handover import keys
from handover.bot import BotTurn, Decision, SilentBot
from handover.clock import FixedClock
from handover.keys import Lane
from handover.message import (
    CustomerRef,
    DeliveryStatus,
    InboundKind,
    InboundMessage,
    OutboundKind,
    OutboundRequest,
    SendOutcome,
    StatusUpdate,
)
from handover.traffic.enqueue import InboundItem, OutboundJob
from handover.traffic.wakeups import sweep
from tests.support.world import World

PARTITIONS = 4
PNID = "1122334455667"


class EchoBot:
    """Answers every text with its reverse, so tests can see bot output."""

    def handle(self, conversation, message):
        decision = Decision(message_id=message.id, action="reply", rule="echo", rules_version="t", at=0)
        if message.kind != InboundKind.TEXT:
            return BotTurn(decision)
        return BotTurn(
            decision,
            [
                OutboundRequest(
                    kind=OutboundKind.TEXT,
                    phone_number_id=conversation.phone_number_id,
                    to=conversation.address,
                    text=(message.text or "")[::-1],
                )
            ],
        )


class RecordingTransport:
    def __init__(self, fail: dict[str, SendOutcome] | None = None):
        self.sent: list[OutboundJob] = []
        self.fail = fail or {}
        self.n = 0

    def __call__(self, groups, keepalive):
        keepalive()
        outcomes = {}
        for group in groups:
            blocked = False
            for job in group:
                if blocked:
                    outcomes[job.id] = None
                    continue
                self.sent.append(job)
                failure = self.fail.get(job.request.text or "")
                if failure is not None:
                    outcomes[job.id] = failure
                    blocked = failure.retryable
                    continue
                if job.request.kind == OutboundKind.MARK_READ:
                    outcomes[job.id] = SendOutcome(ok=True)
                    continue
                self.n += 1
                outcomes[job.id] = SendOutcome(ok=True, wa_message_id=f"wamid.out.{self.n}")
        return outcomes


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def world(transport) -> World:
    """The echo bot answering on four partitions; its sends go to `transport`."""
    return World(partitions=PARTITIONS, bot=EchoBot(), send_many=transport)


def silent_world(**options) -> World:
    return World(partitions=PARTITIONS, bot=SilentBot(), send_many=RecordingTransport(), **options)


def message(mid: str, text: str, ts: int, wa_id: str = "5511999990001", user_id: str | None = None):
    customer = CustomerRef(phone_number_id=PNID, wa_id=wa_id, user_id=user_id, profile_name="Ana")
    return InboundItem(
        type="message",
        message=InboundMessage(
            id=mid, customer=customer, timestamp=ts, kind=InboundKind.TEXT, wa_type="text", text=text
        ),
    )


async def test_messages_land_once_in_order_and_replies_go_out(world, transport):
    sync, store = world.sync, world.store
    # delivered out of order, one of them twice
    first = await world.ingest(message("wamid.B", "segunda", 200), message("wamid.A", "primeira", 100))
    again = await world.ingest(message("wamid.A", "primeira", 100))
    assert (first.added, first.duplicates) == (2, 0)
    assert (again.added, again.duplicates, again.duplicate_ids) == (0, 1, ["wamid.A"])

    world.drain_all()

    customer = CustomerRef(phone_number_id=PNID, wa_id="5511999990001")
    conversation = store.current_conversation(customer)
    assert conversation is not None and conversation.state == "bot"
    assert conversation.window_expires_at == 200 + 24 * 3600
    transcript = store.transcript(conversation.id)
    inbound = [e.text for e in transcript if e.direction == "in"]
    assert inbound == ["primeira", "segunda"]
    # answered in the customer's order; one receipt for the newest message marks both read
    kinds = [(j.request.kind, j.request.text or j.request.message_id) for j in transport.sent]
    assert kinds == [("text", "ariemirp"), ("text", "adnuges"), ("mark_read", "wamid.B")]
    assert sync.hget(keys.COUNTERS, "receipts_covered") == "1"
    replies = [e for e in transcript if e.direction == "out"]
    assert [r.delivery.status for r in replies] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert all(sync.xlen(keys.stream_key(lane, p)) == 0 for lane in Lane for p in range(PARTITIONS))


async def test_status_never_moves_backwards_even_when_it_arrives_before_the_send_is_recorded(world):
    store = world.store
    await world.ingest(message("wamid.A", "oi", 100))
    world.drain_inbound()
    # "read" arrives before we even recorded the id of the send it is about
    status = StatusUpdate(
        message_id="wamid.out.1",
        status=DeliveryStatus.READ,
        timestamp=300,
        phone_number_id=PNID,
        recipient_id="5511999990001",
    )
    await world.ingest(InboundItem(type="status", status=status))
    world.drain_inbound()
    world.drain_all()
    late = status.model_copy(update={"status": DeliveryStatus.DELIVERED, "timestamp": 250})
    await world.ingest(InboundItem(type="status", status=late))
    world.drain_all()

    conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id="5511999990001"))
    reply = next(e for e in store.transcript(conversation.id) if e.direction == "out")
    assert reply.delivery.status == DeliveryStatus.READ
    assert reply.delivery.wa_message_id == "wamid.out.1"


async def test_permanent_error_is_recorded_and_retryable_one_is_retried_in_order(world, transport):
    sync, store = world.sync, world.store
    outside = SendOutcome(ok=False, error_code=131047, error_title="Re-engagement message", retryable=False)
    limited = SendOutcome(ok=False, error_code=131056, error_title="pair rate limit", retryable=True)
    transport.fail.update({"lahcef": outside, "etimil": limited})
    await world.ingest(
        message("wamid.1", "fechal", 100, wa_id="551100000001"),
        message("wamid.2", "limite", 100, wa_id="551100000002"),
        message("wamid.3", "depois", 101, wa_id="551100000002"),
    )
    world.drain_all()

    closed = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id="551100000001"))
    failed = next(e for e in store.transcript(closed.id) if e.direction == "out")
    assert (failed.delivery.status, failed.delivery.error_code) == (DeliveryStatus.FAILED, 131047)

    limited_conv = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id="551100000002"))
    first, second = [e for e in store.transcript(limited_conv.id) if e.direction == "out"]
    assert (first.delivery.status, first.delivery.error_code) == (DeliveryStatus.PENDING, 131056)
    assert second.delivery.status == DeliveryStatus.PENDING and second.delivery.attempts == 0
    assert sync.zcard(keys.RETRIES) == 1  # the failed send; the reply queued behind it is held
    assert sync.hlen(keys.held_sends_key(limited_conv.id)) == 1

    transport.fail.clear()
    sweep(sync, PARTITIONS, clock=FixedClock(10**10))  # far in the future: every retry is due
    world.drain_all()
    first, second = [e for e in store.transcript(limited_conv.id) if e.direction == "out"]
    assert first.delivery.status == second.delivery.status == DeliveryStatus.SENT
    texts = [
        j.request.text
        for j in transport.sent
        if j.request.kind == "text" and j.conversation_id == limited_conv.id
    ]
    assert texts == ["etimil", "etimil", "sioped"]  # tried, retried, then the one held behind it


async def test_a_reply_made_after_a_failed_send_waits_behind_it_across_batches(world, transport):
    """Meta refuses the first reply for a while (pair rate limit); the bot's next replies, made in later
    batches while the first waits for its retry, wait in line behind it instead of overtaking it."""
    sync, store = world.sync, world.store
    limited = SendOutcome(ok=False, error_code=131056, error_title="pair rate limit", retryable=True)
    transport.fail["etimil"] = limited
    wa_id = "551100000009"
    await world.ingest(message("wamid.a", "limite", 100, wa_id=wa_id))
    world.drain_all()  # 'etimil' refused: retried later
    await world.ingest(message("wamid.b", "depois", 101, wa_id=wa_id))
    world.drain_all()  # a later batch: 'sioped' must not go before 'etimil'
    await world.ingest(message("wamid.c", "mais", 102, wa_id=wa_id))
    world.drain_all()
    conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))

    def texts() -> list[str | None]:
        return [
            j.request.text
            for j in transport.sent
            if j.request.kind == "text" and j.conversation_id == conversation.id
        ]

    assert texts() == ["etimil"]
    transport.fail.clear()
    sweep(sync, PARTITIONS, clock=FixedClock(10**10))  # every retry due
    world.drain_all()
    assert texts() == ["etimil", "etimil", "sioped", "siam"]
    for gone in (keys.SEND_CURSORS, keys.SEND_NUMBERS):  # forgotten once it owes no send
        assert not sync.hexists(gone, conversation.id)
    assert not sync.exists(keys.held_sends_key(conversation.id))
    sent = [e for e in store.transcript(conversation.id) if e.direction == "out"]
    assert [e.delivery.status for e in sent] == [DeliveryStatus.SENT] * 3


async def test_messages_sharing_a_whatsapp_second_keep_their_arrival_order(world):
    store = world.store
    texts = [f"msg {i}" for i in range(12)]
    await world.ingest(*(message(f"wamid.z{9 - i % 10}{i}", t, 500) for i, t in enumerate(texts)))
    world.drain_all()
    conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id="5511999990001"))
    transcript = store.transcript(conversation.id)
    assert [e.text for e in transcript if e.direction == "in"] == texts
    # the replies, made within the same millisecond, keep the order of the messages they answer
    assert [e.text for e in transcript if e.direction == "out"] == [t[::-1] for t in texts]


async def test_one_receipt_for_the_newest_message_even_when_it_was_processed_first(transport):
    world = World(partitions=PARTITIONS, bot=SilentBot(), send_many=transport)
    for item in (message("wamid.new", "depois", 200), message("wamid.old", "antes", 100)):  # late delivery
        await world.ingest(item)
        world.drain_inbound()
    world.drain_outbound()
    assert [j.request.message_id for j in transport.sent] == ["wamid.new"]


async def test_logs_about_messages_name_conversation_and_message_never_text_or_number(world):
    from structlog.testing import capture_logs

    await world.ingest(message("wamid.LOG", "meu cpf é 123", 100, wa_id="5511977776666"))
    with capture_logs() as logs:
        world.drain_all()
    about_messages = [e for e in logs if "message_id" in e]
    assert about_messages and all(e.get("conversation_id") for e in about_messages)
    flat = repr(logs)
    assert "meu cpf" not in flat and "5511977776666" not in flat


async def test_transcript_is_bounded_keeping_the_newest():
    world = silent_world(transcript_max=10)
    sync, store = world.sync, world.store
    await world.ingest(*(message(f"wamid.b{i:02d}", f"m{i}", 1000 + i) for i in range(15)))
    world.drain_all()
    conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id="5511999990001"))
    assert [e.text for e in store.transcript(conversation.id)] == [f"m{i}" for i in range(5, 15)]
    assert sync.hlen(keys.entries_key(conversation.id)) == 10
    assert conversation.messages_in == 15


async def test_a_customer_writing_after_a_closed_conversation_starts_a_new_one_that_knows_the_old():
    world = silent_world()
    sync, store = world.sync, world.store
    await world.ingest(message("wamid.first", "oi", 100))
    world.drain_all()
    customer = CustomerRef(phone_number_id=PNID, wa_id="5511999990001")
    old = store.current_conversation(customer)
    sync.hset(keys.conversation_key(old.id), "state", "resolved")
    await world.ingest(message("wamid.second", "oi de novo", 200))
    world.drain_all()
    new = store.current_conversation(customer)
    assert new.id != old.id and new.state == "bot"
    assert [e.text for e in store.transcript(new.id)] == ["oi de novo"]
    assert store.past_conversations(new) == [old.id]


@pytest.mark.parametrize(
    ("path", "legal"),
    [
        (["queued", "assigned", "transferring", "assigned", "resolved"], True),
        (["queued", "abandoned"], True),
        (["queued", "assigned", "bot", "queued"], True),
        (["assigned"], False),
        (["queued", "resolved"], False),
        (["resolved", "bot"], False),
    ],
)
def test_conversation_state_machine(path, legal):
    from handover.conversation import Conversation, ConversationState, IllegalMove

    conversation = Conversation.start(CustomerRef(phone_number_id=PNID, wa_id="55"), 0)
    try:
        for state in path:
            conversation.move_to(ConversationState(state), 1)
    except IllegalMove:
        assert not legal
    else:
        assert legal and conversation.state == path[-1]


async def test_the_drainer_writes_only_what_it_changed():
    """A desk claim landing between the drainer's read and its commit is not overwritten."""
    world = silent_world()
    sync, store = world.sync, world.store
    await world.ingest(message("wamid.c1", "oi", 100))
    world.drain_all()
    customer = CustomerRef(phone_number_id=PNID, wa_id="5511999990001")
    conversation = store.current_conversation(customer)
    sync.hset(keys.conversation_key(conversation.id), "state", "queued")
    original = store.current_conversations

    def load_then_an_agent_claims(customers):
        found = original(customers)
        sync.hset(keys.conversation_key(conversation.id), "state", "assigned")
        sync.hincrby(keys.conversation_key(conversation.id), "messages_out", 1)  # the agent answered
        return found

    store.current_conversations = load_then_an_agent_claims
    await world.ingest(message("wamid.c2", "tem alguém aí?", 200))
    world.drain_all()
    after = store.conversation(conversation.id)
    assert after.state == "assigned"
    assert (after.messages_in, after.messages_out) == (2, 1)
    assert after.last_customer_message_at == 200


def test_a_conversations_sends_go_through_the_partition_of_its_customers_messages():
    from handover.conversation import Conversation

    customer = CustomerRef(phone_number_id=PNID, wa_id="5511999990001", user_id="BR.42")
    conversation = Conversation.start(customer, 0)
    assert conversation.routing_key == customer.routing_key == f"{PNID}:BR.42"
