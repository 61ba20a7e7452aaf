"""The mixed bench's agents: each keeps its desk's live event stream open and loops claim -> read the
conversation -> reply twice -> resolve, a short pause between actions, through the desk API of the same
`handover serve` the webhooks reach (the loop and the stream are bench/desk.py's)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import aiohttp
import redis

from bench.desk import Client, Timings, agent_round, events
from handover.agents import AgentStore, Presence, Role

AGENTS = 20
CAPACITY = 3
QUEUES = ["general", "billing", "retention"]  # every queue the shipped rules escalate to (senior: transfers)
PAUSE = 0.25  # seconds between an agent's actions


def hire(client: redis.Redis) -> list[str]:
    """AGENTS available agents on QUEUES; their tokens."""
    store, tokens = AgentStore(client), []
    for n in range(AGENTS):
        agent, token = store.add(f"Bench agent {n:02d}", QUEUES, CAPACITY, Role.AGENT)
        store.set_status(agent.id, Presence.AVAILABLE)
        tokens.append(token)
    return tokens


@dataclass
class Team:
    """What the agents did: conversations each resolved, the desk's answers, the events their streams got."""

    tokens: list[str]
    resolved: list[int] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    seen: list[int] = field(default_factory=lambda: [0])

    @property
    def errors(self) -> int:
        return sum(self.timings.errors.values())

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.timings.seconds.values())

    async def work(self, base: str, stop: asyncio.Event) -> None:
        """Every agent at work, streams open, until `stop` is set (a round under way is finished)."""
        self.resolved = [0] * len(self.tokens)
        streams = [asyncio.create_task(events(base, token, self.seen)) for token in self.tokens]
        async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=100)) as session:
            client = Client(session, self.timings)

            async def agent(n: int, token: str) -> None:
                rng = random.Random(n)
                await asyncio.sleep(rng.random() * PAUSE * 4)  # not all at once
                while not stop.is_set():
                    if await agent_round(client, token, PAUSE):
                        self.resolved[n] += 1
                    else:
                        await asyncio.sleep(PAUSE)

            await asyncio.gather(*(agent(n, token) for n, token in enumerate(self.tokens)))
        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
