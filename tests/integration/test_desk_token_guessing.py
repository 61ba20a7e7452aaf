"""Guessing desk tokens over HTTP: ten wrong tokens a minute from one address, then 429 for its next wrong
ones (once ~830 guesses/s); a right token is served from any address, the guesser's too (ten bad tokens a
minute once locked a whole call centre behind one NAT out); simultaneous guesses are counted one at a time
in Redis, so exactly the limit of them is ever answered 401 (500 at once: 323 were, for a limit of 10)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from handover import keys
from handover.agents import AgentStore, Role

pytestmark = pytest.mark.integration

GUESSER, AGENT = "203.0.113.7", "198.51.100.9"


def settings(redis_url: str, **overrides) -> Settings:
    base = dict(
        redis_url=redis_url,
        whatsapp_access_token="t",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
        handover_partitions=4,
        handover_trusted_proxies="127.0.0.1",  # the test client plays the TLS proxy in front
    )
    return Settings(**(base | overrides))


def agent_token(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    _, token = AgentStore(client).add("Ana", ["general"], capacity=3, role=Role.AGENT)
    client.close()
    return token


def test_the_eleventh_wrong_token_in_a_minute_gets_429_and_the_right_one_is_served_from_anywhere(redis_url):
    token = agent_token(redis_url)

    async def scenario() -> dict[str, list]:
        async with TestClient(TestServer(build_app(settings(redis_url)))) as http:

            async def me(bearer: str, address: str):
                response = await http.get(
                    "/api/v1/me", headers={"Authorization": f"Bearer {bearer}", "X-Forwarded-For": address}
                )
                return response.status, response.headers.get("Retry-After"), await response.json()

            guesses = [await me(f"hv_guess_{n}", GUESSER) for n in range(11)]
            return {
                "guesses": guesses,
                "right_token_from_the_guesser": [await me(token, GUESSER)],
                "right_token_elsewhere": [await me(token, AGENT)],
                "wrong_token_elsewhere": [await me("hv_typo", AGENT)],
            }

    seen = asyncio.run(scenario())
    assert [s for s, _, _ in seen["guesses"]] == [401] * 10 + [429]
    status, retry_after, body = seen["guesses"][-1]
    assert body["error"]["code"] == "too_many_failures"
    assert 1 <= int(retry_after) <= 60
    # blocked is for unknown tokens only: an agent behind the guesser's NAT or proxy is served
    [(status, _, me)] = seen["right_token_from_the_guesser"]
    assert (status, me["name"]) == (200, "Ana")
    [(status, _, me)] = seen["right_token_elsewhere"]
    assert (status, me["name"]) == (200, "Ana")
    assert seen["wrong_token_elsewhere"][0][0] == 401


def test_forwarded_addresses_are_ignored_unless_the_proxy_is_trusted(redis_url):
    """Off by default: without HANDOVER_TRUSTED_PROXIES a guesser cannot dodge the limit by writing a new
    X-Forwarded-For on every request; every request counts against the peer address."""

    async def statuses() -> list[int]:
        app = build_app(settings(redis_url, handover_trusted_proxies=""))
        async with TestClient(TestServer(app)) as http:
            out = []
            for n in range(11):
                response = await http.get(
                    "/api/v1/me", headers={"Authorization": "Bearer hv_x", "X-Forwarded-For": f"192.0.2.{n}"}
                )
                out.append(response.status)
            return out

    assert asyncio.run(statuses()) == [401] * 10 + [429]


def test_simultaneous_wrong_guesses_are_answered_401_exactly_up_to_the_limit(redis_url):
    """200 guesses from one address at once: ten are counted (401), the rest refused (429); Redis holds ten."""

    async def statuses() -> list[int]:
        async with TestClient(TestServer(build_app(settings(redis_url)))) as http:

            async def guess(n: int) -> int:
                headers = {"Authorization": f"Bearer hv_guess_{n}", "X-Forwarded-For": GUESSER}
                async with http.get("/api/v1/me", headers=headers) as response:
                    return response.status

            return await asyncio.gather(*(guess(n) for n in range(200)))

    assert Counter(asyncio.run(statuses())) == {401: 10, 429: 190}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert client.zcard(keys.token_failures_key(GUESSER)) == 10
    client.close()
