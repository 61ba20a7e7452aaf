"""A small HTTP load generator: closed-loop throughput, and open-loop latency at a fixed offered rate."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

Body = tuple[bytes, dict[str, str]]


@dataclass
class LoadResult:
    requests: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.rate:8.0f} req/s  p50 {self.percentile(0.5):6.2f} ms  p99 {self.percentile(0.99):6.2f} ms"
            f"  errors {self.errors}"
        )

    async def post(self, session: aiohttp.ClientSession, url: str, body: Body) -> None:
        """One timed POST; anything but 200 counts as an error."""
        started = time.perf_counter()
        async with session.post(url, data=body[0], headers=body[1]) as response:
            await response.read()
            if response.status != 200:
                self.errors += 1
        self.latencies.append(time.perf_counter() - started)


async def closed_loop(url: str, bodies: list[Body], concurrency: int) -> LoadResult:
    """`concurrency` clients each send their next request as soon as the last one is answered."""
    queue = list(reversed(bodies))
    result = LoadResult(len(bodies))

    async def client(session: aiohttp.ClientSession) -> None:
        while queue:
            await result.post(session, url, queue.pop())

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


async def open_loop(url: str, bodies: list[Body], rate: float) -> LoadResult:
    """Send at a fixed rate whatever the answers, as Meta does; latency includes any queueing."""
    result = LoadResult(len(bodies))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as session:
        started = time.perf_counter()
        tasks = []
        for index, body in enumerate(bodies):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(result.post(session, url, body)))
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - started
    return result
