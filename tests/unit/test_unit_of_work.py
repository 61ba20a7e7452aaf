"""handover/unit.guarded: the one way the domain makes a guarded change (WATCH, read, MULTI, write)."""

from __future__ import annotations

import fakeredis
import pytest
import redis

from handover.errors import Conflict
from handover.unit import guarded


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


def test_what_is_queued_after_multi_is_written_when_the_block_ends(client):
    client.set("count", 1)
    with guarded(client, "count") as pipe:
        seen = int(pipe.get("count"))  # read at once
        pipe.multi()
        pipe.set("count", seen + 1)
        assert client.get("count") == "1"  # queued, not yet written
    assert client.get("count") == "2"


def test_a_change_meanwhile_is_a_conflict_and_nothing_is_written(client):
    client.set("count", 1)
    with (
        pytest.raises(Conflict, match="changed meanwhile"),
        guarded(client, "count", conflict="changed meanwhile") as pipe,
    ):
        pipe.get("count")
        client.set("count", 5)  # another writer, between the read and the write
        pipe.multi()
        pipe.set("count", 2)
        pipe.set("other", "x")
    assert (client.get("count"), client.get("other")) == ("5", None)


def test_without_a_conflict_message_the_caller_gets_the_watch_error_to_retry(client):
    with pytest.raises(redis.WatchError), guarded(client, "count") as pipe:
        client.set("count", 5)
        pipe.multi()
        pipe.set("count", 2)
    assert client.get("count") == "5"


def test_a_block_that_leaves_before_multi_writes_nothing(client):
    def give_way() -> bool:
        with guarded(client, "count") as pipe:
            if pipe.get("count") is None:
                return False
            pipe.multi()
            pipe.set("count", 0)
        return True

    assert give_way() is False and client.get("count") is None


def test_an_error_in_the_block_writes_nothing(client):
    with pytest.raises(ValueError), guarded(client, "count") as pipe:
        pipe.multi()
        pipe.set("count", 2)
        raise ValueError("a domain check failed after multi")
    assert client.get("count") is None
