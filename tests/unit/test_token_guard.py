"""The limit on wrong desk tokens per client address (desk/guard.py): the window, the bound on memory,
and who the client is behind a trusted proxy."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from desk.guard import FailureLimiter, TokenGuard, networks


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_ten_failures_in_a_minute_block_until_the_oldest_is_a_minute_old():
    clock = Clock()
    limiter = FailureLimiter(limit=10, window=60.0, clock=clock)
    for _ in range(9):
        limiter.failed("203.0.113.7")
        clock.now += 1
    assert limiter.wait("203.0.113.7") == 0
    limiter.failed("203.0.113.7")  # the tenth, 9 s after the first
    assert limiter.wait("203.0.113.7") == pytest.approx(51.0)
    assert limiter.retry_after("203.0.113.7") == 51
    assert limiter.wait("198.51.100.9") == 0  # another client is not affected
    clock.now += 51
    assert limiter.wait("203.0.113.7") == 0  # the first failure left the window: one more guess
    limiter.failed("203.0.113.7")
    assert limiter.wait("203.0.113.7") == pytest.approx(1.0)  # and blocked again: ten a minute at most


def test_failures_spread_out_never_block():
    clock = Clock()
    limiter = FailureLimiter(limit=3, window=60.0, clock=clock)
    for _ in range(20):
        limiter.failed("203.0.113.7")
        assert limiter.wait("203.0.113.7") == 0
        clock.now += 30.1
    assert len(limiter._failures["203.0.113.7"]) <= 3


def test_memory_is_bounded_however_many_addresses_try():
    limiter = FailureLimiter(limit=2, most_clients=100, clock=Clock())
    for i in range(10_000):
        limiter.failed(f"10.{i // 256 % 256}.{i % 256}.1")
    assert len(limiter._failures) == 100
    limiter.failed("203.0.113.7")
    limiter.failed("203.0.113.7")
    assert limiter.wait("203.0.113.7") > 0  # the newest are kept; the ones that failed longest ago go


def request(peer: str, forwarded: list[str] | None = None):
    headers = CIMultiDict(("X-Forwarded-For", value) for value in forwarded or [])
    return make_mocked_request("GET", "/api/v1/me", headers=headers).clone(remote=peer)


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ([], "203.0.113.7", [], "203.0.113.7"),
        ([], "127.0.0.1", ["198.51.100.9"], "127.0.0.1"),  # off by default: anyone could write the header
        (["127.0.0.1"], "127.0.0.1", ["198.51.100.9"], "198.51.100.9"),
        (["127.0.0.1"], "203.0.113.7", ["198.51.100.9"], "203.0.113.7"),  # not from the proxy: ignored
        (["127.0.0.1"], "127.0.0.1", ["1.1.1.1, 198.51.100.9"], "198.51.100.9"),  # the left is the client's
        (["127.0.0.1", "10.0.0.0/8"], "127.0.0.1", ["198.51.100.9, 10.1.2.3"], "198.51.100.9"),  # two hops
        (["127.0.0.1"], "127.0.0.1", ["198.51.100.9", "192.0.2.1"], "192.0.2.1"),  # two headers: the last
        (["127.0.0.1"], "127.0.0.1", [], "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", ["not an address"], "not an address"),
        ([], "2001:db8:1:2:3:4:5:6", [], "2001:db8:1:2::/64"),  # an IPv6 user holds a /64
        ([], "::ffff:203.0.113.7", [], "203.0.113.7"),  # a dual-stack listener
    ],
)
def test_who_the_client_is(trusted, peer, forwarded, client):
    guard = TokenGuard(proxies=networks(trusted))
    assert guard.client_of(request(peer, forwarded)) == client
