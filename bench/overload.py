"""`python -m bench --only overload`: one `handover serve` driven past what it can take (issue 28, item 3).

Signed webhook POSTs, one a new connection (as a sender that does not keep connections alive does), are
offered at fixed rates whatever the answers, each with a 10 s client timeout (the tester's), against a
fresh serve on a real redis-server: once with the shipped HANDOVER_MAX_LOOP_LAG_MS and once with it so
high that nothing is shed (the baseline, in the same run). For each: the share of POSTs answered (200 or
503) within 1 s, the shares of 200s, 503s and of POSTs never answered (timeouts, resets), p50/p99 of the
time to an answer (a timeout counts as 10 s), and the loop's lag as /metrics showed it twice a second.

Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from bench.common import LOGS, server_env
from tests.support.processes import Process, is_up, wait_for
from tests.support.redis_server import RedisServer, free_port
from tests.support.webhook import RECENT, body, signed, text_message

CLIENT_TIMEOUT = 10.0
SECONDS = 20.0  # of offered load per step: long enough for a backlog to build, short enough for the bench
# POSTs a second: within what serve takes here (nothing should be shed), and past it
RATES = (300, 600, 1000)
PER_POST = 10  # messages: serve's work grows with them, the load generator's does not
NO_SHEDDING = "3600000"  # HANDOVER_MAX_LOOP_LAG_MS: an hour of lag before anything is shed, i.e. off


@dataclass
class Outcome:
    offered: int
    sending: float = 0.0  # seconds from the first POST sent to the last
    answers: list[tuple[int, float]] = field(default_factory=list)  # (status, seconds); status 0: none
    codes: Counter[str] = field(default_factory=Counter)  # the 503s' error codes
    lags: list[float] = field(default_factory=list)  # the /metrics gauge, seconds

    def share(self, test) -> float:  # type: ignore[no-untyped-def]
        return sum(1 for status, took in self.answers if test(status, took)) / max(1, len(self.answers))

    def percentile(self, q: float) -> float:
        ordered = sorted(took if status else CLIENT_TIMEOUT for status, took in self.answers)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    @property
    def within_a_second(self) -> float:
        return self.share(lambda status, took: status and took <= 1.0)

    def line(self) -> str:
        ok = self.share(lambda status, _: status == 200)
        shed = self.share(lambda status, _: status == 503)
        lost = self.share(lambda status, _: status == 0)
        lags = sorted(self.lags) or [0.0]
        codes = ", ".join(
            f"{code} {count / max(1, len(self.answers)):.0%}" for code, count in self.codes.items()
        )
        return (
            f"sent {len(self.answers) / self.sending:5.0f}/s  within 1 s {self.within_a_second:6.1%}  "
            f"200 {ok:6.1%} ({ok * len(self.answers) / self.sending:4.0f}/s)  503 {shed:6.1%}  "
            f"unanswered {lost:6.1%}  p50 {self.percentile(0.5) * 1000:5.0f} ms  "
            f"p99 {self.percentile(0.99) * 1000:5.0f} ms  lag p50/max {lags[len(lags) // 2] * 1000:3.0f}/"
            f"{lags[-1] * 1000:3.0f} ms" + (f"  ({codes})" if codes else "")
        )


def overload(redis_server: RedisServer, seconds: float = SECONDS) -> None:
    _raise_open_files()
    print(
        f"(h) overload: signed webhook POSTs of {PER_POST} messages on new connections, open loop for "
        f"{seconds:g} s a step, {CLIENT_TIMEOUT:g} s client timeout; shedding (HANDOVER_MAX_LOOP_LAG_MS "
        "default) against none (the baseline, run just before)"
    )
    for rate in RATES:
        shedding = _step(redis_server, rate, seconds, {})
        baseline = _step(redis_server, rate, seconds, {"HANDOVER_MAX_LOOP_LAG_MS": NO_SHEDDING})
        print(f"    {rate:5d} POSTs/s offered, no shedding  {baseline.line()}")
        print(f"                          shedding     {shedding.line()}")
        ratio = shedding.within_a_second / max(baseline.within_a_second, 1e-9)
        print(
            f"                          answered within 1 s: {ratio:.2f}x the baseline; p99 "
            f"{shedding.percentile(0.99) / max(baseline.percentile(0.99), 1e-9):.2f}x"
        )


def _step(redis_server: RedisServer, rate: int, seconds: float, limits: dict[str, str]) -> Outcome:
    port = free_port()
    serve = Process(["serve"], {**server_env(redis_server.url, port), **limits}, LOGS / "overload.log")
    serve.start()
    try:
        wait_for(lambda: is_up(f"http://127.0.0.1:{port}/readyz"), 30, "handover serve")
        return asyncio.run(_offer(port, rate, seconds))
    finally:
        serve.stop()


async def _offer(port: int, rate: int, seconds: float) -> Outcome:
    outcome = Outcome(rate)
    count = int(rate * seconds)
    run = uuid.uuid4().hex[:8]
    bodies = [
        signed(
            body(
                [
                    text_message(f"wamid.{run}.{i}.{m}", f"55119{(i + m) % 500:08d}", "oi", RECENT + i)
                    for m in range(PER_POST)
                ]
            )
        )
        for i in range(count)
    ]
    url = f"http://127.0.0.1:{port}/webhook"
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def post(raw: bytes, headers: dict[str, str]) -> None:
            started = time.perf_counter()
            try:
                async with session.post(url, data=raw, headers=headers) as response:
                    answer = await response.read()
                    outcome.answers.append((response.status, time.perf_counter() - started))
                    if response.status != 200:
                        outcome.codes[json.loads(answer)["error"]["code"]] += 1
            except (TimeoutError, aiohttp.ClientError):
                outcome.answers.append((0, time.perf_counter() - started))

        sampling = asyncio.create_task(_sample_lag(session, port, outcome))
        started = time.perf_counter()
        tasks = []
        for index, (raw, headers) in enumerate(bodies):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(raw, headers)))
        outcome.sending = time.perf_counter() - started
        await asyncio.gather(*tasks)
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    return outcome


async def _sample_lag(session: aiohttp.ClientSession, port: int, outcome: Outcome) -> None:
    """The loop's lag as serve reports it, twice a second (a scrape answered late is late itself)."""
    while True:
        await asyncio.sleep(0.5)
        with contextlib.suppress(TimeoutError, aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                for line in (await response.text()).splitlines():
                    if line.startswith("handover_event_loop_lag_seconds "):
                        outcome.lags.append(float(line.split()[1]))


def _raise_open_files() -> None:
    """Thousands of connections open at once when serve falls behind: the client needs the descriptors."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
