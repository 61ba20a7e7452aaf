"""A small HTTP load generator: closed-loop throughput, and open-loop latency at a fixed offered rate."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

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


async def closed_loop(url: str, bodies: list[tuple[bytes, dict[str, str]]], concurrency: int) -> LoadResult:
    """`concurrency` clients each send their next request as soon as the last one is answered."""
    queue = list(reversed(bodies))
    latencies: list[float] = []
    errors = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while queue:
            raw, headers = queue.pop()
            started = time.perf_counter()
            async with session.post(url, data=raw, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(len(bodies), elapsed, latencies, errors)


async def open_loop(url: str, bodies: list[tuple[bytes, dict[str, str]]], rate: float) -> LoadResult:
    """Send at a fixed rate whatever the answers, as Meta does; latency includes any queueing."""
    latencies: list[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession, raw: bytes, headers: dict[str, str]) -> None:
        nonlocal errors
        started = time.perf_counter()
        async with session.post(url, data=raw, headers=headers) as response:
            await response.read()
            if response.status != 200:
                errors += 1
        latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        tasks = []
        for index, (raw, headers) in enumerate(bodies):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, raw, headers)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return LoadResult(len(bodies), elapsed, latencies, errors)
