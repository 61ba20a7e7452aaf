"""Who the client is for the limit on wrong desk tokens (desk/guard.py), behind a trusted proxy or not; the
count itself is in Redis (tests/integration/test_lua_guessing.py, test_desk_token_guessing.py)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from desk.guard import TokenGuard, networks


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
