"""Which of a conversation's sends may go in a batch (handover/traffic/outbound.py): the run of numbers from the
"next to send" cursor on; the rest are held. And sends queued before sends had numbers still go."""

from __future__ import annotations

import pytest

from handover import keys
from handover.keys import Lane
from handover.message import OutboundKind, OutboundRequest, SendOutcome
from handover.traffic.enqueue import OutboundJob
from handover.traffic.outbound import STALE_SECONDS, Cursor, Sender, _turn
from handover.traffic.streams import drain
from tests.support.world import World

NOW = 1_800_000_000.0


def send(number: int, job_id: str | None = None) -> OutboundJob:
    request = OutboundRequest(kind=OutboundKind.TEXT, phone_number_id="1", to="5511", text=f"reply {number}")
    return OutboundJob(id=job_id or f"j{number}", conversation_id="c", p=0, request=request, seq=number)


@pytest.mark.parametrize(
    "name, numbers, cursor, go, hold, stale",
    [
        ("no cursor: from 1", [1, 2, 3], None, [1, 2, 3], [], False),
        ("in stream order or not, they go by number", [3, 1, 2], None, [1, 2, 3], [], False),
        ("a gap: the run stops before it", [2, 3, 5, 6], Cursor(2, int(NOW * 1000)), [2, 3], [5, 6], False),
        ("the next one is not here: all held", [4, 5], Cursor(3, int(NOW * 1000)), [], [4, 5], False),
        ("already finished (a redelivery): dropped", [2, 3, 4], Cursor(4, int(NOW * 1000)), [4], [], False),
        ("twice in one batch: once", [4, 4, 5], Cursor(4, 0), [4, 5], [], False),
        ("waited on past the stale time: all held, the cursor moves to them", [6, 7],
         Cursor(3, int((NOW - STALE_SECONDS - 1) * 1000)), [], [6, 7], True),
        ("stale, but the next one is here: it goes", [3, 4], Cursor(3, 0), [3, 4], [], False),
    ],
)  # fmt: skip
def test_turn(name, numbers, cursor, go, hold, stale):
    turn = _turn([send(n, f"j{n}.{i}") for i, n in enumerate(numbers)], cursor, NOW)
    assert ([j.seq for j in turn.go], [j.seq for j in turn.hold], turn.stale) == (go, hold, stale)


def test_a_send_queued_before_sends_had_numbers_still_goes():
    sent: list[OutboundJob] = []

    def transport(groups, keepalive):
        sent.extend(job for group in groups for job in group)
        return {
            job.id: SendOutcome(ok=True, wa_message_id=f"wamid.{job.id}") for group in groups for job in group
        }

    world = World(partitions=1, send_many=transport)
    legacy = send(1).model_copy(update={"seq": None})
    world.sync.xadd(keys.stream_key(Lane.OUTBOUND, 0), {"d": legacy.model_dump_json(exclude_none=True)})
    sender = Sender(world.store, transport, clock=world.clock)
    drain(world.sync, Lane.OUTBOUND, 0, sender.handle, batch_size=10, lease_seconds=5)
    assert [job.id for job in sent] == ["j1"]
    assert not world.sync.exists(keys.SEND_CURSORS, keys.held_sends_key("c"))


def test_a_dead_lettered_send_does_not_hold_up_the_ones_after_it():
    """Reply 1 breaks the transport (dead-lettered); replies 2 and 3 go at once, in order, not 10 minutes
    later when a new send finds the cursor stale (issue 28)."""
    sent: list[str] = []

    def transport(groups, keepalive):
        if any(job.id == "j1" for group in groups for job in group):
            raise RuntimeError("a send the code cannot handle")
        sent.extend(job.id for group in groups for job in group)
        return {
            job.id: SendOutcome(ok=True, wa_message_id=f"wamid.{job.id}") for group in groups for job in group
        }

    world = World(partitions=1, send_many=transport)
    stream = keys.stream_key(Lane.OUTBOUND, 0)
    for number in (1, 2, 3):
        world.sync.hset(keys.SEND_NUMBERS, "c", number)
        world.sync.xadd(stream, {"d": send(number).model_dump_json(exclude_none=True), "n": str(number)})
    sender = Sender(world.store, transport, clock=world.clock)
    for _ in range(3):  # the sends put back in the stream go on the next drain
        drain(world.sync, Lane.OUTBOUND, 0, sender.handle, batch_size=10, lease_seconds=5)
    assert sent == ["j2", "j3"]
    assert world.sync.xlen(keys.dead_letter_key(Lane.OUTBOUND)) == 1
    assert not world.sync.exists(keys.SEND_CURSORS, keys.held_sends_key("c"), keys.SEND_NUMBERS)


def test_an_agents_typing_rides_on_the_receipt_that_covers_it():
    """Two receipts of one conversation in a batch go as one call (the newest); an agent's "typing…" on
    the older one is not lost with it."""
    from handover.traffic.outbound import _newest_receipts

    def receipt(job_id: str, at: int, typing: bool = False) -> OutboundJob:
        request = OutboundRequest(
            kind=OutboundKind.MARK_READ,
            phone_number_id="1",
            to="5511",
            message_id=f"wamid.{at}",
            typing=typing,
        )
        return OutboundJob(id=job_id, conversation_id="c", p=0, request=request, message_timestamp=at)

    kept, covered = _newest_receipts([receipt("typing", 100, typing=True), receipt("newer", 101)])
    assert covered == {"typing"}
    assert [(job.id, job.request.message_id, job.request.typing) for job in kept] == [
        ("newer", "wamid.101", True)
    ]
