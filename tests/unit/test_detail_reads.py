"""A conversation as the desk opens it: its packet and transcript read together in two round trips
(`Store.packet_and_transcript`), exactly what `packet` and `transcript` read apart."""

from __future__ import annotations

import fakeredis
import pytest

from desk.models import ConversationDetail
from handover import keys
from handover.conversation import Conversation
from handover.message import DeliveryStatus, OutboundKind, OutboundRequest, SendOutcome, StatusUpdate
from handover.packet import ContextPacket
from handover.store import Store
from handover.transcript import TranscriptEntry
from tests.support.round_trips import RoundTrips

NOW = 1_800_000_000.0
BOTH = [["GET", "ZRANGE"], ["HMGET", "HMGET", "EXISTS", "EXISTS"]]


@pytest.fixture
def store():
    return Store(fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True))


def packet_of(conversation_id: str, past: list[str]) -> ContextPacket:
    return ContextPacket.model_validate(
        {
            "conversation_id": conversation_id,
            "channel": {"phone_number_id": "1"},
            "customer": {"wa_id": "5511"},
            "identity": {},
            "intent": {"name": "order_status"},
            "escalation": {
                "reason": "customer_asked",
                "rule": "r",
                "rules_version": "v1",
                "at": NOW,
                "trigger_message": {"id": "in.1"},
            },
            "queue": "general",
            "priority": "normal",
            "summary": "reason: customer_asked",
            "transcript": [],
            "past_conversations": past,
        }
    )


def written(store: Store, conversation_id: str, *, past: list[str], entries: bool = True) -> None:
    """A conversation with a packet naming `past`, of which the first is still kept, and (with `entries`)
    a question, an answer WhatsApp says was read, and one more answer not yet sent."""
    store.client.hset(keys.conversation_key(conversation_id), "state", "assigned")
    if past:
        store.client.hset(keys.conversation_key(past[0]), "state", "resolved")
    with store.client.pipeline() as pipe:
        store.save_packet(pipe, packet_of(conversation_id, past))
        if entries:
            asked = TranscriptEntry(id="in.1", direction="in", at=NOW, seq=1, kind="text", text="pedido?")
            store.append_entry(pipe, conversation_id, asked)
            for n, text in ((2, "já vejo"), (3, "chegou")):
                request = OutboundRequest(kind=OutboundKind.TEXT, phone_number_id="1", to="5511", text=text)
                store.append_entry(
                    pipe,
                    conversation_id,
                    TranscriptEntry.from_outbound(f"out.{n}", request, "ag", NOW + n, n),
                )
        pipe.execute()
    if entries:
        with store.client.pipeline() as pipe:
            store.record_send(
                pipe, conversation_id, "out.2", SendOutcome(ok=True, wa_message_id="wamid.2"), 1, NOW
            )
            pipe.execute()
        with store.client.pipeline() as pipe:
            status = StatusUpdate(
                message_id="wamid.2", status=DeliveryStatus.READ, timestamp=int(NOW) + 9, phone_number_id="1"
            )
            store.apply_status(pipe, status)
            pipe.execute()


def test_packet_and_transcript_read_together_are_what_they_are_read_apart(store):
    written(store, "c1", past=["c0_kept", "c0_deleted"])
    trips = RoundTrips(store.client)

    packet, transcript = store.packet_and_transcript("c1")

    assert trips.trips == BOTH
    assert (packet, transcript) == (store.packet("c1"), store.transcript("c1"))
    assert packet is not None and packet.past_conversations == ["c0_kept"]
    assert [(e.id, e.delivery.status if e.delivery else None) for e in transcript] == [
        ("in.1", None),
        ("out.2", DeliveryStatus.READ),
        ("out.3", DeliveryStatus.PENDING),
    ]


def test_an_entry_gone_from_its_hash_is_left_out_both_ways(store):
    written(store, "c1", past=[])
    store.client.hdel(keys.entries_key("c1"), "out.2")

    _, transcript = store.packet_and_transcript("c1")

    assert [e.id for e in transcript] == ["in.1", "out.3"] and transcript == store.transcript("c1")


@pytest.mark.parametrize(
    ("past", "entries", "second"),
    [
        ([], True, [["HMGET", "HMGET"]]),
        (["c0_kept", "c0_deleted"], False, [["EXISTS", "EXISTS"]]),
        ([], False, []),  # nothing more to read: one round trip
    ],
)
def test_the_second_round_trip_reads_only_what_there_is(store, past, entries, second):
    written(store, "c1", past=past, entries=entries)
    trips = RoundTrips(store.client)

    packet, transcript = store.packet_and_transcript("c1")

    assert trips.trips == [["GET", "ZRANGE"], *second]
    assert (packet, transcript) == (store.packet("c1"), store.transcript("c1"))


def test_a_conversation_without_packet_or_transcript_reads_as_none_and_empty(store):
    trips = RoundTrips(store.client)

    assert store.packet_and_transcript("nothing") == (None, [])
    assert trips.trips == [["GET", "ZRANGE"]]
    assert (store.packet("nothing"), store.transcript("nothing")) == (None, [])


def test_packet_and_transcript_apart_keep_their_own_round_trips(store):
    written(store, "c1", past=["c0_kept", "c0_deleted"])
    trips = RoundTrips(store.client)

    store.packet("c1")
    store.transcript("c1")

    assert trips.trips == [["GET"], ["EXISTS", "EXISTS"], ["ZRANGE"], ["HMGET", "HMGET"]]


def test_the_desks_detail_reads_packet_and_transcript_in_two_round_trips(store):
    written(store, "c1", past=["c0_kept", "c0_deleted"])
    conversation = Conversation(
        id="c1", phone_number_id="1", customer_key="5511", state="assigned", created_at=NOW, updated_at=NOW
    )
    trips = RoundTrips(store.client)

    detail = ConversationDetail.load(store, conversation, NOW)

    assert trips.trips == BOTH
    assert (detail.packet, detail.transcript) == (store.packet("c1"), store.transcript("c1"))
    assert detail.packet is not None and detail.packet.past_conversations == ["c0_kept"]
