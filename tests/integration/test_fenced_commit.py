"""A batch's commit on a real redis-server (handover/traffic/fenced.py): WATCH, the lease guard and the whole
transaction go in one write, and Redis refuses the transaction unless the lease is the drainer's; a commit
whose reply is lost is found applied or not (handover/traffic/streams.py), and logged as what happened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import structlog
from structlog.testing import capture_logs

from handover import keys
from handover.keys import Lane
from handover.traffic.fenced import Expected, FencedPipeline, was_applied
from handover.traffic.streams import Batch, LeaseLost, NotApplied, Stale, drain, ensure_groups
from tests.support.processes import wait_for
from tests.support.redis_server import free_port

pytestmark = pytest.mark.integration

IN = Lane.INBOUND
STREAM, LEASE, FENCE = keys.stream_key(IN, 0), keys.lease_key(IN, 0), keys.lease_fence_key(IN, 0)


class Counted(redis.Connection):
    """A connection that counts its writes: one write is one round trip."""

    writes = 0

    def send_packed_command(self, command, check_health=True):  # type: ignore[no-untyped-def]
        Counted.writes += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    pool = redis.ConnectionPool.from_url(redis_url, decode_responses=True, connection_class=Counted)
    client = redis.Redis(connection_pool=pool)
    ensure_groups(client, 1)
    return client


def batch(client: redis.Redis) -> Batch:
    """A batch of the two entries in the stream, read under the lease `mine`."""
    for n in range(2):
        client.xadd(STREAM, {"d": str(n)})
    entries = client.xreadgroup(keys.GROUP, keys.CONSUMER, {STREAM: ">"})[0][1]
    client.set(LEASE, "mine", px=60_000)
    return Batch(client, IN, 0, "mine", 60_000, entries)


def test_a_commit_under_its_own_lease_applies_and_acknowledges_in_one_round_trip(client):
    work = batch(client)
    client.ping()  # the connection is made and its handshake done
    before = Counted.writes
    work.commit(lambda pipe: (pipe.set("done", "1"), pipe.hincrby("counts", "n", 2)))
    assert Counted.writes - before == 1
    assert work.committed and client.get("done") == "1" and client.hget("counts", "n") == "2"
    assert client.xlen(STREAM) == 0 and client.xpending(STREAM, keys.GROUP)["pending"] == 0
    assert client.exists(FENCE) == 0
    assert client.get(LEASE) == "mine"


@pytest.mark.parametrize("holder", ["theirs", None])  # taken by another drainer; expired
def test_a_commit_without_the_lease_applies_nothing(client, holder):
    work = batch(client)
    client.delete(LEASE)
    if holder:
        client.set(LEASE, holder, px=60_000)
    with pytest.raises(LeaseLost):
        work.commit(lambda pipe: pipe.set("done", "1"))
    assert not work.committed and client.get("done") is None
    assert client.xpending(STREAM, keys.GROUP)["pending"] == 2  # still there, for the lease's holder
    assert client.get(LEASE) == holder
    assert 0 < client.pttl(FENCE) <= 60_000


def test_the_connection_is_clean_after_a_refused_commit(client):
    """No WATCH left behind on the pooled connection: the next transaction on it applies."""
    work = batch(client)
    client.set(LEASE, "theirs")
    with pytest.raises(LeaseLost):
        work.commit(lambda pipe: pipe.set("done", "1"))
    with client.pipeline(transaction=True) as pipe:
        pipe.set("after", "1")
        pipe.get(FENCE)
        assert pipe.execute() == [True, "1"]
    assert client.connection_pool._created_connections == 1


def test_replies_keep_their_places_and_errors_still_raise(client):
    client.set(LEASE, "mine")
    client.set("text", "x")
    with FencedPipeline(client, LEASE, FENCE, "mine") as pipe:
        pipe.incr("n")
        pipe.get("text")
        assert pipe.execute() == [1, "x"]
    with FencedPipeline(client, LEASE, FENCE, "mine") as pipe:
        pipe.incr("text")  # not a number: Redis applies the rest and reports this one
        pipe.incr("n")
        with pytest.raises(redis.ResponseError):
            pipe.execute()
    assert client.get("n") == "2"


@pytest.mark.parametrize(
    ("held", "expected", "applies"),
    [
        ({"state": "queued", "queue": "general"}, {"state": "queued", "offer_to": ""}, True),
        ({"state": "queued", "offer_to": "ana"}, {"state": "queued", "offer_to": "ana"}, True),
        ({"state": "assigned", "agent_id": "ana"}, {"state": "queued", "offer_to": ""}, False),  # claimed
        ({"state": "queued", "offer_to": "ana"}, {"state": "queued", "offer_to": ""}, False),  # offered
        ({"state": "queued", "queue": "billing"}, {"state": "queued", "queue": "general"}, False),  # moved
        ({}, {"state": "queued"}, False),  # gone
    ],
)
def test_a_commit_applies_only_while_what_it_expects_holds(client, held, expected, applies):
    """expect.lua: a hash the batch decided on must hold what it read; else the commit is refused, in
    the same round trip, as stale (its entries stay pending, to be redone from what is there now)."""
    work = batch(client)
    if held:
        client.hset("conversation", mapping=held)
    client.ping()
    before = Counted.writes
    expect = [Expected("conversation", expected)]
    if applies:
        work.commit(lambda pipe: pipe.set("done", "1"), expect)
        assert Counted.writes - before == 1
        assert client.get("done") == "1" and client.xpending(STREAM, keys.GROUP)["pending"] == 0
    else:
        with pytest.raises(Stale):
            work.commit(lambda pipe: pipe.set("done", "1"), expect)
        assert client.get("done") is None and client.xpending(STREAM, keys.GROUP)["pending"] == 2
        assert client.get(LEASE) == "mine"  # still this drainer's: it lets go and the entries are redone


# A commit whose reply is lost (the connection drops once it went out): did Redis apply it?


class Dropping(redis.Connection):
    """A connection that loses every reply to the next transaction it sends: once Redis applied it
    ("applied"), or because it never reached Redis ("unsent")."""

    mode: str | None = None
    watcher: redis.Redis | None = None  # another connection, to see the transaction applied

    def send_packed_command(self, command, check_health=True):  # type: ignore[no-untyped-def]
        packed = b"".join(bytes(part) for part in command) if isinstance(command, list) else bytes(command)
        self.dropping = Dropping.mode if b"MULTI" in packed else None
        if self.dropping:
            Dropping.mode = None
            if self.dropping == "unsent":
                return
        super().send_packed_command(command, check_health)

    def read_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(self, "dropping", None):
            if self.dropping == "applied":
                assert Dropping.watcher is not None
                wait_for(lambda: Dropping.watcher.get("done"), 5, "Redis to apply the transaction")
            self.dropping = None
            self.disconnect()
            raise redis.ConnectionError("Connection closed by server.")
        return super().read_response(*args, **kwargs)


@pytest.fixture
def dropping(redis_url: str, client: redis.Redis) -> Iterator[redis.Redis]:
    pool = redis.ConnectionPool.from_url(redis_url, decode_responses=True, connection_class=Dropping)
    Dropping.watcher = client
    yield redis.Redis(connection_pool=pool)
    pool.disconnect()
    client.connection_pool.disconnect()


def test_a_commit_applied_as_the_connection_dropped_counts_as_committed(dropping):
    work = batch(dropping)
    Dropping.mode = "applied"
    with capture_logs() as logs:
        work.commit(lambda pipe: pipe.set("done", "1"))
    assert work.committed and dropping.get("done") == "1"
    assert dropping.xpending(STREAM, keys.GROUP)["pending"] == 0
    assert [(e["event"], e["applied"]) for e in logs] == [("commit_reply_lost", True)]


def test_a_commit_lost_before_redis_applied_it_is_not_applied_and_says_so(dropping):
    work = batch(dropping)
    Dropping.mode = "unsent"
    with capture_logs() as logs, pytest.raises(NotApplied):
        work.commit(lambda pipe: pipe.set("done", "1"))
    assert not work.committed and dropping.get("done") is None
    assert dropping.xpending(STREAM, keys.GROUP)["pending"] == 2  # redone by the next drain
    assert [(e["event"], e["applied"]) for e in logs] == [("commit_reply_lost", False)]


@pytest.mark.parametrize("mode", ["applied", "unsent"])
def test_a_drain_logs_what_happened_to_a_commit_whose_reply_was_lost(dropping, mode):
    """Applied: its messages are logged as processed, not as a lost lease. Not applied: no lease_lost
    either (the lease was never in question), and the entries are there for the next drain."""
    for n in range(2):
        dropping.xadd(STREAM, {"d": str(n)})

    def handler(work: Batch) -> None:
        work.commit(lambda pipe: pipe.set("done", "1"))
        for entry_id in work.ids:
            structlog.get_logger().info("message_processed", message_id=entry_id)

    Dropping.mode = mode
    with capture_logs() as logs:
        drain(dropping, IN, 0, handler, batch_size=10, lease_seconds=5)
    events = [e["event"] for e in logs]
    assert "lease_lost" not in events
    assert events.count("message_processed") == (2 if mode == "applied" else 0), events
    assert dropping.xlen(STREAM) == (0 if mode == "applied" else 2)


def test_a_commit_redis_cannot_tell_about_is_unknown(redis_url):
    away = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    assert was_applied(away, "mark-key", "mark", STREAM, ["1-0"], within=0.1) is None
    away.close()
