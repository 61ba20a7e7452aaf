"""`python -m bench --only mixed`: the whole system under a realistic mix (issue 18).

A real redis-server, one `handover serve` and two `handover worker` processes at their default log level,
the fake Graph API answering in 100 ms in a process of its own (bench/graph_process.py), customers in
multi-turn conversations with the shipped rules (bench/customers.py, bench/traffic.py) and 20 agents
working the desk (bench/team.py). Phases, in one run:

1. sustained: customers writing as fast as answers come; messages processed a second (Redis counter),
   Redis commands and CPU time per message, over a window after a ramp (py-spy profiles with --profile);
2. webhook -> first reply latency, open loop, stepping the offered rate; each step is drained before the
   next, so it starts from empty streams;
3. Redis memory per conversation by state, from the conversations the run left;
4. used_memory as conversations pile up, in this process (bench/scale.py).

Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import redis

from bench.common import LOGS, ROOT, rq_noop_rate, server_env
from bench.customers import Identity, identities, write_rules
from bench.measure import CpuWindow, Profiles, command_calls, memory_by_state, processed, shared_keys
from bench.report import Plan, Run, Step, Sustained, owed_messages, print_mixed
from bench.scale import grow
from bench.team import Team, hire
from bench.traffic import Replies, Traffic
from handover import keys
from tests.support.processes import Process, is_up, wait_for
from tests.support.redis_server import RedisServer, free_port

PLAN = Plan()


def mixed(redis_server: RedisServer, profile: bool = False) -> None:
    started = time.perf_counter()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    run = Run(PLAN, noop=rq_noop_rate(redis_server.url, PLAN.noop_jobs))
    client.flushall()
    people = identities()
    with tempfile.TemporaryDirectory(prefix="bench-mixed-") as workdir:
        rules = write_rules(Path(workdir), people)
        asyncio.run(_live(run, redis_server.url, rules, people, profile))
        run.scale, run.scale_rate = grow(
            redis_server.url, rules, people, PLAN.scale_marks[-1], PLAN.scale_seconds
        )
        run.memory, run.families = memory_by_state(client)  # what grow left: every state is there
        run.shared = shared_keys(client)
    client.close()
    run.seconds = time.perf_counter() - started
    print_mixed(run)


async def _live(run: Run, redis_url: str, rules: Path, people: list[Identity], profile: bool) -> None:
    graph = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.graph_process",
        str(PLAN.latency),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert graph.stdout is not None
    graph_port = int((await graph.stdout.readline()).split()[1])
    run.replies = replies = Replies()
    following = asyncio.create_task(replies.follow(graph.stdout))
    port = free_port()
    env = {
        **server_env(redis_url, port, f"http://127.0.0.1:{graph_port}/v23.0"),
        "HANDOVER_RULES": str(rules),
    }
    for old in LOGS.glob("mixed-*.log"):
        old.unlink()
    serve = Process(["serve"], env, LOGS / "mixed-serve.log").start()
    workers = [Process(["worker"], env, LOGS / f"mixed-worker{i}.log").start() for i in range(2)]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_for, lambda: is_up(f"{base}/readyz"), 30, "handover serve")
        run.team = team = Team(hire(client))
        stop = asyncio.Event()
        working = asyncio.create_task(team.work(base, stop))
        pids = {
            "serve": [serve.pid],
            "workers (2, summed)": [w.pid for w in workers],
            "redis-server": [int(client.info("server")["process_id"])],
            "load generator (customers, agents)": [os.getpid()],
            "fake Graph API": [graph.pid],
        }
        profiled = {"serve": serve.pid, **{f"worker{i}": w.pid for i, w in enumerate(workers)}}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as session:
            url = f"{base}/webhook"
            run.sustained = await _sustained(session, url, replies, people, client, pids, profiled, profile)
            run.sent += run.sustained.tally.messages - run.sustained.tally.failed
            await _drained(client, run.sent)
            for rate in _rates(run):
                tally = await Traffic(session, url, replies, people, rate, PLAN.think).open(
                    rate, PLAN.step_seconds
                )
                run.sent += tally.messages - tally.failed
                run.steps.append(Step(rate, tally, await _drained(client, run.sent)))
        stop.set()
        await working
        await _drained(client, run.sent)
        settled = time.perf_counter() + 10  # the last replies and surveys on their way to the Graph API
        while replies.messages < owed_messages(run) and time.perf_counter() < settled:
            await asyncio.sleep(0.1)
        run.processed = processed(client)
        run.escalations = int(client.hget(keys.COUNTERS, "escalations") or 0)
    finally:
        for process in [*workers, serve]:
            process.stop()
        graph.terminate()
        await graph.wait()
        following.cancel()
        client.close()


def _rates(run: Run) -> Iterator[int]:
    """The offered rates to step through: those the report needs (PLAN.required) always, the others only
    while the step before met the target; when none did, lower ones (PLAN.fallback) until one does."""
    for rate in PLAN.rates:
        if rate in PLAN.required or not run.steps or run.steps[-1].p99 <= PLAN.target_p99:
            yield rate
    for rate in PLAN.fallback:
        if any(s.p99 <= PLAN.target_p99 for s in run.steps):
            return
        yield rate


async def _sustained(
    session: aiohttp.ClientSession,
    url: str,
    replies: Replies,
    people: list[Identity],
    client: redis.Redis,
    pids: dict[str, list[int]],
    profiled: dict[str, int],
    profile: bool,
) -> Sustained:
    """Customers back-to-back; the window after the ramp is what is measured."""
    traffic = Traffic(session, url, replies, people, 1, (0.0, 0.0))
    running = asyncio.create_task(traffic.closed(PLAN.customers, PLAN.ramp_seconds + PLAN.window_seconds))
    await asyncio.sleep(PLAN.ramp_seconds)
    cpu = CpuWindow(pids)
    cpu.start()
    calls, before, started = command_calls(client), processed(client), time.perf_counter()
    profiles = Profiles(LOGS, "mixed", profiled) if profile else None
    await asyncio.sleep(PLAN.window_seconds)
    cpu.stop()
    after, elapsed = processed(client), time.perf_counter() - started
    commands = command_calls(client) - calls
    written = await asyncio.to_thread(profiles.stop) if profiles is not None else []
    tally = await running
    return Sustained((after - before) / elapsed, after - before, cpu.spent, commands, tally, written)


async def _drained(client: redis.Redis, expected: int) -> float:
    """Seconds until every message sent so far was processed (PLAN.drain_seconds at most)."""
    started = time.perf_counter()
    while processed(client) < expected and time.perf_counter() - started < PLAN.drain_seconds:
        await asyncio.sleep(0.1)
    return time.perf_counter() - started
