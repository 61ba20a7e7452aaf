"""Transcript order when WhatsApp's whole-second stamps meet our exact ones.

A customer who answers the bot within the same second has their message stamped *before* the bot's
reply (WhatsApp gives seconds, we keep milliseconds); it must still read after it, in Redis and in the
packet. A message from an earlier second delivered late keeps its place in time."""

from __future__ import annotations

import fakeredis

from handover.message import OutboundKind, OutboundRequest
from handover.store import Store
from handover.transcript import TranscriptEntry, placed

SECOND = 1_800_000_000


def inbound(entry_id: str, stamp: int, seq: int) -> TranscriptEntry:
    return TranscriptEntry(id=entry_id, direction="in", at=float(stamp), seq=seq, kind="text", text=entry_id)


def outbound(entry_id: str, at: float, seq: int) -> TranscriptEntry:
    request = OutboundRequest(kind=OutboundKind.TEXT, phone_number_id="1", to="5511", text=entry_id)
    return TranscriptEntry.from_outbound(entry_id, request, "bot", at, seq)


# in the order they were written: "oi" at second 0, the bot answers 0.3 s later, the customer answers
# within that second, a message from second -2 arrives late, and one from the next second
WRITTEN = [
    inbound("oi", SECOND, 1),
    outbound("greeting", SECOND + 0.3, 2),
    inbound("quero atendente", SECOND, 3),
    inbound("late, sent earlier", SECOND - 2, 4),
    inbound("next second", SECOND + 1, 5),
]
READ = ["late, sent earlier", "oi", "greeting", "quero atendente", "next second"]


def test_redis_keeps_a_same_second_answer_after_what_we_wrote_in_that_second():
    store = Store(fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True))
    for entry in WRITTEN:
        with store.client.pipeline() as pipe:
            store.append_entry(pipe, "c1", entry)
            pipe.execute()

    shown = store.transcript("c1")

    assert [e.id for e in shown] == READ
    assert shown[3].at == SECOND  # the time shown stays WhatsApp's


def test_the_packet_places_fresh_entries_the_way_redis_will():
    stored, fresh = WRITTEN[:2], WRITTEN[2:]

    assert [e.id for e in placed(stored, fresh)] == READ
