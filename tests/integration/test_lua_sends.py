"""The send order's scripts on a real redis-server, one table each: what Redis holds after every row.

queue_send (each conversation numbers its sends 1, 2, ... in the order they are queued), advance_sends (the
"next to send" cursor moves past finished sends and never back; held sends wait and go back to the stream,
in number order, from the cursor on; a stale cursor skips to the oldest held send; a conversation that owes
nothing is forgotten)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import redis

from handover import keys, lua
from handover.keys import Lane

pytestmark = pytest.mark.integration

CONV = "c1"
STREAM = keys.stream_key(Lane.OUTBOUND, 0)
HELD = keys.held_sends_key(CONV)
NOW_MS = 1_800_000_000_000


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def numbers_in_stream(client: redis.Redis) -> list[tuple[str, str]]:
    """(number, send) of each entry of the stream, oldest first."""
    return [(fields["n"], fields["d"]) for _, fields in client.xrange(STREAM)]


def test_queue_send_numbers_each_conversations_sends_in_the_order_they_are_queued(client):
    given = [
        lua.run(client, "queue_send", [keys.SEND_NUMBERS, STREAM], [conversation, f"{conversation}.{i}"])
        for i, conversation in enumerate(["c1", "c2", "c1", "c1", "c2"])
    ]
    assert given == [1, 1, 2, 3, 2]
    assert numbers_in_stream(client) == [
        ("1", "c1.0"),
        ("1", "c2.1"),
        ("2", "c1.2"),
        ("3", "c1.3"),
        ("2", "c2.4"),
    ]
    assert client.hgetall(keys.SEND_NUMBERS) == {"c1": "3", "c2": "2"}


def owes(
    last: int, cursor: str | None = None, held: dict[str, str] | None = None
) -> Callable[[redis.Redis], None]:
    """Before a row: the conversation was given numbers up to `last`; its cursor and held sends."""

    def setup(client: redis.Redis) -> None:
        client.hset(keys.SEND_NUMBERS, CONV, last)
        if cursor is not None:
            client.hset(keys.SEND_CURSORS, CONV, cursor)
        if held:
            client.hset(HELD, mapping=held)

    return setup


@dataclass
class AdvanceRow:
    name: str
    before: Callable[[redis.Redis], None]
    went_by: int  # the next number the batch went by
    finished: int  # how many from it on, in a row, were accepted or failed for good
    due_ms: int | None = None  # the retried send's due time
    stale: bool = False
    hold: list[tuple[int, str]] = field(default_factory=list)
    cursor: str | None = None  # after
    held: dict[str, str] = field(default_factory=dict)  # after
    back: list[tuple[str, str]] = field(default_factory=list)  # put back in the stream, in order
    forgotten: bool = False  # the numbers hash no longer names the conversation


ADVANCE = [
    AdvanceRow("all finished: forgotten", owes(3), 1, 3, forgotten=True),
    AdvanceRow("the first retried, the rest held", owes(3), 1, 0, due_ms=NOW_MS + 2000, hold=[(2, "s2"), (3, "s3")],
               cursor=f"1 {NOW_MS + 2000}", held={"2": "s2", "3": "s3"}),
    AdvanceRow("the retried one accepted: the held ones go back, in order",
               owes(3, f"1 {NOW_MS - 5000}", {"3": "s3", "2": "s2"}), 1, 1, cursor=f"2 {NOW_MS}",
               back=[("2", "s2"), ("3", "s3")]),
    AdvanceRow("held ones after a gap stay held", owes(5, "1 0", {"2": "s2", "4": "s4"}), 1, 1,
               cursor=f"2 {NOW_MS}", held={"4": "s4"}, back=[("2", "s2")]),
    AdvanceRow("nothing finished, nothing due: the cursor keeps its time", owes(3, "2 123"), 2, 0, hold=[(3, "s3")],
               cursor="2 123", held={"3": "s3"}),
    AdvanceRow("never backwards: a batch that went by an older cursor", owes(5, "4 123"), 2, 1, cursor=f"4 {NOW_MS}"),
    AdvanceRow("a held send already finished is dropped", owes(5, "4 123"), 4, 0, hold=[(3, "old"), (5, "s5")],
               cursor="4 123", held={"5": "s5"}),
    AdvanceRow("stale: skips to the oldest held and puts it back", owes(5, "2 0", {"4": "s4", "5": "s5"}), 2, 0,
               stale=True, cursor=f"4 {NOW_MS}", back=[("4", "s4"), ("5", "s5")]),
    AdvanceRow("first send held before any cursor: waits for number 1", owes(2), 1, 0, hold=[(2, "s2")],
               cursor=f"1 {NOW_MS}", held={"2": "s2"}),
]  # fmt: skip


@pytest.mark.parametrize("row", ADVANCE, ids=[r.name for r in ADVANCE])
def test_advance_sends(client, row):
    row.before(client)
    held_args = [part for number, send in row.hold for part in (number, send)]
    back = lua.run(
        client,
        "advance_sends",
        [keys.SEND_CURSORS, keys.SEND_NUMBERS, HELD, STREAM],
        [
            CONV,
            row.went_by,
            row.finished,
            NOW_MS,
            "" if row.due_ms is None else row.due_ms,
            int(row.stale),
            *held_args,
        ],
    )
    assert back == len(row.back)
    assert client.hget(keys.SEND_CURSORS, CONV) == row.cursor
    assert client.hgetall(HELD) == row.held
    assert numbers_in_stream(client) == row.back
    assert (client.hget(keys.SEND_NUMBERS, CONV) is None) is row.forgotten


@dataclass
class SkipRow:
    name: str
    before: Callable[[redis.Redis], None]
    dead: int  # the number dead-lettered
    cursor: str | None = None  # after
    held: dict[str, str] = field(default_factory=dict)  # after
    back: list[tuple[str, str]] = field(default_factory=list)
    forgotten: bool = False


SKIP = [
    SkipRow("the cursor waits on it: it moves past, the held ones go back", owes(3, "1 0", {"2": "s2", "3": "s3"}), 1,
            cursor=f"2 {NOW_MS}", back=[("2", "s2"), ("3", "s3")]),
    SkipRow("no cursor yet, number 1 dead: the held ones go back", owes(2, None, {"2": "s2"}), 1,
            cursor=f"2 {NOW_MS}", back=[("2", "s2")]),
    SkipRow("the last one owed: forgotten", owes(4, "4 0"), 4, forgotten=True),
    SkipRow("earlier ones still owed: marked, stepped over later", owes(5, "2 7", {"4": "s4"}), 3,
            cursor="2 7", held={"3": "skip", "4": "s4"}),
    SkipRow("already behind the cursor (a redelivery): nothing", owes(5, "4 7", {"5": "s5"}), 2,
            cursor="4 7", held={"5": "s5"}),
    SkipRow("a conversation that owes nothing: nothing", lambda client: None, 1, forgotten=True),
]  # fmt: skip


@pytest.mark.parametrize("row", SKIP, ids=[r.name for r in SKIP])
def test_skip_send(client, row):
    row.before(client)
    lua.run(
        client, "skip_send", [keys.SEND_CURSORS, keys.SEND_NUMBERS, HELD, STREAM], [CONV, row.dead, NOW_MS]
    )
    assert client.hget(keys.SEND_CURSORS, CONV) == row.cursor
    assert client.hgetall(HELD) == row.held
    assert numbers_in_stream(client) == row.back
    assert (client.hget(keys.SEND_NUMBERS, CONV) is None) is row.forgotten


def test_a_marked_number_is_stepped_over_when_the_cursor_reaches_it(client):
    """Send 3 was dead-lettered while 2 was still owed: once 2 is sent, 4 and 5 go back, 3 never."""
    owes(5, "2 0", {"3": "skip", "4": "s4", "5": "s5"})(client)
    lua.run(
        client,
        "advance_sends",
        [keys.SEND_CURSORS, keys.SEND_NUMBERS, HELD, STREAM],
        [CONV, 2, 1, NOW_MS, "", 0],
    )
    assert client.hget(keys.SEND_CURSORS, CONV) == f"4 {NOW_MS}"
    assert numbers_in_stream(client) == [("4", "s4"), ("5", "s5")]
    assert client.hgetall(HELD) == {}
