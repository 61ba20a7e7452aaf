"""token_failure.lua on a real redis-server (handover/guessing.py): a table of failures and the moments they
come, what each is answered (counted, or the wait before the client may try again), and what the key holds."""

from __future__ import annotations

import pytest
import redis

from handover import keys
from handover.guessing import Counted, count_failure

pytestmark = pytest.mark.integration

WHO, OTHER = "203.0.113.7", "2001:db8:1:2::/64"
T = 1_700_000_000.0  # a wall-clock second: the count is shared by every web process


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.mark.parametrize(
    ("moments", "limit", "answers"),
    [
        # ten in 9 s are counted; the eleventh waits until the first is a minute old
        (
            [T + i for i in range(10)] + [T + 9.5],
            10,
            [Counted(n, 0) for n in range(1, 11)] + [Counted(10, 50.5)],
        ),
        # once the first leaves the window, one more is counted, and the next waits again
        ([T, T + 1, T + 60, T + 60.5], 2, [Counted(1, 0), Counted(2, 0), Counted(2, 0), Counted(2, 0.5)]),
        # a failure exactly a minute old has left the window
        ([T, T + 60], 1, [Counted(1, 0), Counted(1, 0)]),
        # spread out, never refused
        ([T + 31 * i for i in range(8)], 3, [Counted(min(i + 1, 2), 0) for i in range(8)]),
        # the wait is never 0 while refused (a wait under a millisecond is one)
        ([T, T + 59.9995], 1, [Counted(1, 0), Counted(1, 0.001)]),
    ],
    ids=["ten then wait", "window slides", "edge of the window", "spread out", "never a zero wait"],
)
def test_failures_are_counted_up_to_the_limit_in_a_sliding_minute(client, moments, limit, answers):
    assert [count_failure(client, WHO, limit, 60.0, now) for now in moments] == answers
    assert client.zcard(keys.token_failures_key(WHO)) <= limit  # refusals are not kept
    assert 0 < client.pttl(keys.token_failures_key(WHO)) <= 60_000  # gone a minute after the last
    assert count_failure(client, OTHER, limit, 60.0, moments[-1]) == Counted(1, 0)  # another client
