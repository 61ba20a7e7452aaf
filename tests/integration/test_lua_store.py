"""The store's and liveness's scripts on a real redis-server, one table each: what Redis holds after.

append_entry (once per id; the same-second ceiling rule; the cap trims all three structures, never notes), apply_status
(forward only; an orphan waits for its send; a send recorded between locating and applying loses nothing),
record_send (sent, failed, retrying, entry gone), take_if_stale."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import redis

from handover import keys, lua
from handover.message import DeliveryStatus, OutboundKind, OutboundRequest, SendOutcome, StatusUpdate
from handover.store import Store
from handover.traffic.deliveries import STATUS_MOVED
from handover.transcript import TranscriptEntry

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0
CONV = "c1"
ENTRY = "out.1"
WAMID = "wamid.1"
SENT, DELIVERED, READ, FAILED = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.READ,
    DeliveryStatus.FAILED,
)
SENT_OK = SendOutcome(ok=True, wa_message_id=WAMID)


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


# append_entry


def append(
    client: redis.Redis, entry_id: str, score: int, ceiling: int | str = "", kept: int = 10, spared: str = ""
) -> int:
    delivery = "" if ceiling != "" else json.dumps({"status": "pending"})
    return lua.script(client, "append_entry")(
        keys=[keys.transcript_key(CONV), keys.entries_key(CONV), keys.delivery_key(CONV)],
        args=[entry_id, score, json.dumps({"id": entry_id}), kept, delivery, ceiling, spared],
    )


def second(s: float, ms: int = 0) -> int:
    """A transcript score: milliseconds then a position (TranscriptEntry.score)."""
    return (int(s * 1000) + ms) * 1000


@dataclass
class AppendRow:
    name: str
    written: list[tuple[str, int, int | str]]  # (id, score, ceiling) in the order they are appended
    added: list[int]
    order: list[tuple[str, int]]  # the transcript after: id, score
    kept: int = 10
    spared: str = ""  # ids starting with it are never trimmed (agents' notes)


APPEND = [
    AppendRow("in time order", [("a", second(NOW), ""), ("b", second(NOW + 1), "")], [1, 1],
              [("a", second(NOW)), ("b", second(NOW + 1))]),
    AppendRow("an id twice is stored once", [("a", second(NOW), ""), ("a", second(NOW + 5), "")], [1, 0],
              [("a", second(NOW))]),
    AppendRow("a customer message stamped in the second of our last entry goes after it",
              [("out", second(NOW, 700), ""), ("in", second(NOW), second(NOW + 1))], [1, 1],
              [("out", second(NOW, 700)), ("in", second(NOW, 700) + 1)]),
    AppendRow("a late one from an earlier second keeps its place",
              [("out", second(NOW + 1, 200), ""), ("in", second(NOW), second(NOW + 1))], [1, 1],
              [("in", second(NOW)), ("out", second(NOW + 1, 200))]),
    AppendRow("past the cap the oldest go", [(x, second(NOW + i), "") for i, x in enumerate("abc")], [1, 1, 1],
              [("b", second(NOW + 1)), ("c", second(NOW + 2))], kept=2),
    AppendRow("notes are neither trimmed nor counted: the oldest message goes",
              [(x, second(NOW + i), "") for i, x in enumerate(["a", "n.1", "n.2", "n.3", "b", "c"])],
              [1] * 6, [(x, second(NOW + i + 1)) for i, x in enumerate(["n.1", "n.2", "n.3", "b", "c"])],
              kept=2, spared="n."),
    AppendRow("notes alone past the cap all stay",
              [(x, second(NOW + i), "") for i, x in enumerate(["n.1", "n.2", "n.3"])], [1, 1, 1],
              [(x, second(NOW + i)) for i, x in enumerate(["n.1", "n.2", "n.3"])], kept=2, spared="n."),
]  # fmt: skip


@pytest.mark.parametrize("row", APPEND, ids=[r.name for r in APPEND])
def test_append_entry(client, row):
    added = [
        append(client, entry_id, score, ceiling, row.kept, row.spared)
        for entry_id, score, ceiling in row.written
    ]

    assert added == row.added
    assert [
        (i, int(s)) for i, s in client.zrange(keys.transcript_key(CONV), 0, -1, withscores=True)
    ] == row.order
    ids = sorted(i for i, _ in row.order)
    assert sorted(client.hkeys(keys.entries_key(CONV))) == ids
    outbound = sorted(i for i, _, ceiling in row.written if ceiling == "" and i in ids)
    assert sorted(client.hkeys(keys.delivery_key(CONV))) == sorted(set(outbound))


# apply_status and record_send, through the store


def reply(store: Store, agent: str | None = "ag_ana") -> None:
    request = OutboundRequest(kind=OutboundKind.TEXT, phone_number_id="1", to="5511", text="oi")
    store.client.hset(keys.conversation_key(CONV), mapping={"state": "assigned", "agent_id": agent or ""})
    with store.client.pipeline() as pipe:
        store.append_entry(pipe, CONV, TranscriptEntry.from_outbound(ENTRY, request, "agent", NOW, 1))
        pipe.execute()


def sent(store: Store, outcome: SendOutcome = SENT_OK, attempts: int = 1) -> None:
    with store.client.pipeline() as pipe:
        store.record_send(pipe, CONV, ENTRY, outcome, attempts, NOW + 1)
        pipe.execute()


def reported(store: Store, status: DeliveryStatus, at: float = NOW + 2, errors: list | None = None) -> int:
    update = StatusUpdate(
        message_id=WAMID, status=status, timestamp=int(at), phone_number_id="1", errors=errors or []
    )
    located = store.locate([update])
    with store.client.pipeline() as pipe:
        store.apply_status(pipe, update, located)
        [result] = pipe.execute()
    return result


def delivery(store: Store) -> dict:
    return json.loads(store.client.hget(keys.delivery_key(CONV), ENTRY))


def ticks(store: Store) -> list[str]:
    """The statuses the desk heard, in order."""
    return [json.loads(f["data"])["status"] for _, f in store.client.xrange(keys.DESK_EVENTS)]


@dataclass
class StatusRow:
    name: str
    steps: list[Callable[[Store], object]]
    status: str
    heard: list[str]


def status(s: DeliveryStatus, at: float = NOW + 2) -> Callable[[Store], object]:
    return lambda store: reported(store, s, at)


def send(outcome: SendOutcome = SENT_OK) -> Callable[[Store], object]:
    return lambda store: sent(store, outcome)


STATUS = [
    StatusRow("sent, delivered, read", [send(), status(DELIVERED), status(READ, NOW + 3)], "read",
              ["sent", "delivered", "read"]),
    StatusRow("read, then a late delivered: still read", [send(), status(READ), status(DELIVERED)], "read",
              ["sent", "read"]),
    StatusRow("the same status twice: once", [send(), status(DELIVERED), status(DELIVERED)], "delivered",
              ["sent", "delivered"]),
    StatusRow("an orphan waits for its send, which applies it", [status(DELIVERED), send()], "delivered",
              ["delivered"]),
    StatusRow("orphans in any order: the furthest wins", [status(READ), status(DELIVERED), send()], "read",
              ["read"]),
]  # fmt: skip


@pytest.mark.parametrize("row", STATUS, ids=[r.name for r in STATUS])
def test_apply_status(client, row):
    store = Store(client)
    reply(store)
    for step in row.steps:
        step(store)
    assert delivery(store)["status"] == row.status
    assert delivery(store)["wa_message_id"] == WAMID
    assert ticks(store) == row.heard
    assert not client.exists(keys.orphan_status_key(WAMID))  # applied, none left waiting


def test_an_orphan_is_kept_a_day_until_its_send_is_recorded(client):
    store = Store(client)
    reply(store)
    assert reported(store, DELIVERED) == -1
    assert delivery(store)["status"] == "pending"
    assert len(client.lrange(keys.orphan_status_key(WAMID), 0, -1)) == 1
    assert 0 < client.ttl(keys.orphan_status_key(WAMID)) <= keys.ORPHAN_STATUS_TTL_SECONDS


def test_a_failure_keeps_metas_reason_and_the_bots_conversations_publish_nothing(client):
    store = Store(client)
    reply(store, agent=None)
    sent(store)
    reported(store, FAILED, errors=[{"code": 131026, "title": "Message undeliverable"}])
    assert (delivery(store)["status"], delivery(store)["error_code"], delivery(store)["error_title"]) == (
        "failed",
        131026,
        "Message undeliverable",
    )
    assert ticks(store) == []


def test_a_send_recorded_between_locating_and_applying_loses_no_status(client):
    """The batch locates its statuses, then a worker records the send (taking the orphans there were: none),
    then the batch's transaction runs: the script sees the wamid key changed, writes nothing (an orphan
    now would wait forever), and apply_moved applies the status after the transaction."""
    store = Store(client)
    reply(store)
    update = StatusUpdate(message_id=WAMID, status=READ, timestamp=int(NOW + 2), phone_number_id="1")
    located = store.locate([update])
    assert located == {WAMID: ""}

    sent(store)  # meanwhile
    with client.pipeline() as pipe:
        store.apply_status(pipe, update, located)
        assert pipe.execute() == [STATUS_MOVED]
    assert (delivery(store)["status"], client.exists(keys.orphan_status_key(WAMID))) == ("sent", 0)

    assert store.apply_moved([update], located) == 1
    assert delivery(store)["status"] == "read"
    assert ticks(store) == ["sent", "read"]


def test_apply_moved_leaves_statuses_whose_send_did_not_move(client):
    store = Store(client)
    reply(store)
    sent(store)
    update = StatusUpdate(message_id=WAMID, status=DELIVERED, timestamp=int(NOW + 2), phone_number_id="1")
    located = store.locate([update])
    with client.pipeline() as pipe:
        store.apply_status(pipe, update, located)
        assert pipe.execute() == [1]
    assert store.apply_moved([update], located) == 0
    assert ticks(store) == ["sent", "delivered"]


@dataclass
class SendRow:
    name: str
    outcome: SendOutcome
    status: str
    error_code: int | None
    wamid_stored: bool


SEND = [
    SendRow("sent: the wamid says where it lives", SendOutcome(ok=True, wa_message_id=WAMID), "sent", None, True),
    SendRow("failed for good", SendOutcome(ok=False, error_code=131047, error_title="Re-engagement"), "failed",
            131047, False),
    SendRow("retrying: still pending, the error noted", SendOutcome(ok=False, retryable=True, error_code=130429,
            error_title="Rate limit"), "pending", 130429, False),
]  # fmt: skip


@pytest.mark.parametrize("row", SEND, ids=[r.name for r in SEND])
def test_record_send(client, row):
    store = Store(client)
    reply(store)
    sent(store, row.outcome, attempts=2)
    d = delivery(store)
    assert (d["status"], d.get("error_code"), d["attempts"], d["updated_at"]) == (
        row.status,
        row.error_code,
        2,
        NOW + 1,
    )
    where = client.get(keys.wamid_key(WAMID))
    assert (where == f"{CONV} {ENTRY}") is row.wamid_stored
    if row.wamid_stored:
        assert 0 < client.ttl(keys.wamid_key(WAMID)) <= keys.WAMID_TTL_SECONDS
    assert ticks(store) == [row.status]


def test_record_send_for_an_entry_no_longer_kept_writes_nothing(client):
    store = Store(client)
    sent(store)
    assert not client.exists(keys.delivery_key(CONV), keys.wamid_key(WAMID), keys.DESK_EVENTS)


# take_if_stale


@pytest.mark.parametrize(
    "name, mark, taken, left",
    [
        ("older than the cutoff: taken", 1000, 1, []),
        ("at the cutoff: taken", 2000, 1, []),
        ("refreshed since: stays", 2001, 0, ["ag_ana"]),
        ("no mark: nothing", None, 0, []),
    ],
)
def test_take_if_stale(client, name, mark, taken, left):
    if mark is not None:
        client.zadd(keys.AGENTS_LIVE, {"ag_ana": mark})
    assert lua.script(client, "take_if_stale")(keys=[keys.AGENTS_LIVE], args=["ag_ana", 2000]) == taken
    assert client.zrange(keys.AGENTS_LIVE, 0, -1) == left
