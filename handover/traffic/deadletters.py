"""Entries set aside: what a drain does with one it cannot handle (handover/traffic/streams.py decides when).

Its starts are counted when it is read again after its drainer died (`started`); once it is given up it
goes, whole and with its error, to its lane's dead-letter stream (`dead_letter`), and a send set aside
frees the conversation's later sends, which wait in number order (`skip_send`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import structlog
from redis.client import Pipeline

from handover import keys, lua
from handover.clock import system_clock
from handover.keys import Lane

if TYPE_CHECKING:
    from handover.traffic.streams import Batch, Entry

log = structlog.get_logger(__name__)


def started(batch: Batch, attempts: str, entry_id: str) -> int:
    """Count one more start of a redelivered entry, before it runs (a worker killed by it counts too)."""
    batch.keep_alive()
    with batch.client.pipeline(transaction=True) as pipe:
        pipe.hincrby(attempts, entry_id, 1)
        pipe.pexpire(attempts, keys.ATTEMPTS_TTL_MS)
        started, _ = pipe.execute()
    return int(started)


def set_aside(
    pipe: Pipeline, lane: Lane, partition: int, entry: Entry, exc: BaseException, attempts: str
) -> None:
    dead_letter(pipe, lane, entry, exc)
    pipe.hdel(attempts, entry[0])  # its starts, if it was redelivered, are no longer counted
    if lane is Lane.OUTBOUND:
        skip_send(pipe, partition, entry)


def skip_send(pipe: Pipeline, partition: int, entry: Entry) -> None:
    """A numbered send set aside will never go: its conversation's later sends must not wait for it
    (lua/skip_send.lua; handover/traffic/outbound.py keeps them in number order)."""
    number = entry[1].get("n", "")
    try:
        conversation_id = json.loads(entry[1].get("d", ""))["conversation_id"]
    except (ValueError, TypeError, KeyError):
        conversation_id = None
    if not number.isdigit() or not isinstance(conversation_id, str):
        log.warning("send_skip_unknown", entry=entry[0])  # held sends go when the cursor goes stale
        return
    stream = keys.stream_key(Lane.OUTBOUND, partition)
    lua.queue(
        pipe,
        "skip_send",
        [keys.SEND_CURSORS, keys.SEND_NUMBERS, keys.held_sends_key(conversation_id), stream],
        [conversation_id, number, int(system_clock() * 1000)],
    )


def dead_letter(pipe: Pipeline, lane: Lane, entry: Entry, exc: BaseException) -> None:
    pipe.xadd(
        keys.dead_letter_key(lane),
        {**entry[1], "error": f"{type(exc).__name__}: {exc}"[:500], "entry": entry[0]},
        maxlen=keys.DEAD_LETTERS_KEPT,
        approximate=True,
    )
    pipe.hincrby(keys.COUNTERS, "dead_lettered", 1)
