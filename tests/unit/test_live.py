"""The event hub's fan-out: a client too slow to keep up is told to go, and nobody else waits for it."""

from __future__ import annotations

import asyncio

from desk import live


def test_a_full_inbox_ends_with_the_overflow_marker_instead_of_raising():
    inbox: asyncio.Queue = asyncio.Queue(maxsize=3)
    for n in range(5):
        live._offer(inbox, f"{n}-0", {"type": "waiting", "conversation_id": str(n)})
    drained = [inbox.get_nowait() for _ in range(inbox.qsize())]
    assert drained[-1] == ("", live.OVERFLOW)
    assert len(drained) == 3


def test_sse_frames_carry_the_stream_position_type_and_json_data():
    frame = live.sse(
        "1700000000000-0",
        {
            "type": "customer_wrote",
            "conversation_id": "c1",
            "agent_id": "a1",
            "queue": "",
            "data": '{"n": 1}',
        },
    )
    assert frame == (
        b"id: 1700000000000-0\nevent: customer_wrote\n"
        b'data: {"conversation_id": "c1", "agent_id": "a1", "queue": null, "n": 1}\n\n'
    )
