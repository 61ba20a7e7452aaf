"""`make bench`: ingestion vs a bare aiohttp handler, processing vs rq no-op jobs, the bot's matching vs
tokenising a message, `rules whatif` vs reading the transcripts it replays (ratios), the desk's routes
with 10,000 waiting (bench/desk.py: p50/p99 against their targets), the assigner's decisions with
10,000 waiting (bench/assign.py), the whole system under a mixed workload: multi-turn customers and
agents at work, latency webhook -> first reply, Redis commands, CPU and memory (bench/mixed.py), and one
serve driven past what it can take, with and without shedding (bench/overload.py).

Everything runs here, on loopback, with servers started for the run: a redis-server, `handover serve`,
`handover worker` processes, a bare aiohttp server and a fake Graph API answering after 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from bench.assign import bench_assign
from bench.common import LOGS, ROOT, rq_noop_rate, server_env
from bench.customers import backlog_messages, identities, write_rules
from bench.desk import desk
from bench.load import closed_loop, open_loop
from bench.matching import matching
from bench.measure import Profiles
from bench.mixed import mixed
from bench.overload import overload
from bench.parsing import parsing
from bench.whatif import bench_whatif
from handover import keys
from tests.fakes.graph_server import FakeGraph
from tests.support.processes import Process, is_up, wait_for
from tests.support.redis_server import RedisServer, free_port
from tests.support.webhook import RECENT, body, signed, text_message


def bodies(count: int, customers: int = 500) -> list[tuple[bytes, dict[str, str]]]:
    run = uuid.uuid4().hex[:8]
    return [
        signed(
            body(
                [
                    text_message(
                        f"wamid.{run}.{i}",
                        f"55119{i % customers:08d}",
                        "quero saber do pedido",
                        RECENT + i,
                    )
                ]
            )
        )
        for i in range(count)
    ]


def ingestion(redis_server: RedisServer, count: int, concurrency: int) -> None:
    bare_port, serve_port = free_port(), free_port()
    bare_proc = subprocess.Popen([sys.executable, "-m", "bench.bare_server", str(bare_port)], cwd=ROOT)
    serve = Process(["serve"], server_env(redis_server.url, serve_port), LOGS / "serve.log").start()
    try:
        wait_for(lambda: is_up(f"http://127.0.0.1:{bare_port}/healthz"), 30, "bare server")
        wait_for(lambda: is_up(f"http://127.0.0.1:{serve_port}/readyz"), 30, "handover serve")
        asyncio.run(closed_loop(f"http://127.0.0.1:{bare_port}/webhook", bodies(500), concurrency))  # warm up
        asyncio.run(closed_loop(f"http://127.0.0.1:{serve_port}/webhook", bodies(500), concurrency))
        base = asyncio.run(closed_loop(f"http://127.0.0.1:{bare_port}/webhook", bodies(count), concurrency))
        ours = asyncio.run(closed_loop(f"http://127.0.0.1:{serve_port}/webhook", bodies(count), concurrency))
        paced = asyncio.run(
            open_loop(f"http://127.0.0.1:{serve_port}/webhook", bodies(min(count, 5000)), 1000)
        )
    finally:
        serve.stop()
        bare_proc.terminate()
        bare_proc.wait()
    print(f"(a) signed-webhook ingestion, closed loop, {count} posts x 1 message, {concurrency} connections")
    print(f"    bare aiohttp 200      {base.line()}")
    print(f"    handover serve        {ours.line()}")
    print(f"    ratio                 {ours.rate / base.rate:.2f} of bare aiohttp (target >= 0.3)")
    print(f"    at 1,000 msg/s offered: {paced.line()}  (target p99 <= 10 ms)")


def receipts_done(client: redis.Redis, count: int) -> bool:
    """Every message marked read: its own receipt sent, or covered by a newer one of its conversation."""
    counters = client.hgetall(keys.COUNTERS)
    return int(counters.get("receipts_sent", 0)) + int(counters.get("receipts_covered", 0)) >= count


def conversations(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """`count` webhooks of one message each: the mixed bench's conversations, each customer's turns in
    order (bench/customers.py)."""
    return [signed(body([m])) for m in backlog_messages(count, uuid.uuid4().hex[:8], RECENT)]


def processing(redis_server: RedisServer, count: int, profile: bool = False) -> None:
    """Two measures against the same rq baseline (pre-enqueued no-op jobs, two workers):
    a backlog of webhooks already stored, drained by two workers (like for like with the baseline), and
    end to end, with the webhooks arriving while the workers run on the same two cores."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    noop_rate = rq_noop_rate(redis_server.url, min(count, 5000))
    with tempfile.TemporaryDirectory(prefix="bench-processing-") as workdir:
        rules = write_rules(Path(workdir), identities())
        (backlog, handled), _ = _processing_run(redis_server, client, count, rules, workers_first=False)
        (live, live_handled), profiles = _processing_run(
            redis_server, client, count, rules, workers_first=True, profile=profile
        )
    print(
        f"(b) processing, webhook -> mark-as-read at a Graph API answering in 100 ms, 2 workers, "
        f"{count} msgs (multi-turn conversations, default log level)"
    )
    print(f"    rq no-op jobs, 2 workers       {noop_rate:8.0f} jobs/s")
    print(
        f"    handover, stored backlog       {backlog:8.0f} msg/s   ratio {backlog / noop_rate:.2f}x "
        f"(target >= 4); every message answered and committed: {handled:.0f} msg/s, "
        f"{handled / noop_rate:.2f}x"
    )
    print(
        f"    handover, webhooks meanwhile   {live:8.0f} msg/s   ratio {live / noop_rate:.2f}x "
        f"(target >= 3); answered and committed: {live_handled:.0f} msg/s, {live_handled / noop_rate:.2f}x"
    )
    print(
        "      (to the last read receipt the rate is the Graph API's: 100 ms a call, at most "
        "HANDOVER_SEND_CONCURRENCY calls at once per worker, and a conversation's replies one after another)"
    )
    for line in profiles:
        print(line)


def processed(client: redis.Redis) -> int:
    return int(client.hget(keys.COUNTERS, "messages_processed") or 0)


def _processing_run(
    redis_server: RedisServer,
    client: redis.Redis,
    count: int,
    rules: Path,
    workers_first: bool,
    profile: bool = False,
) -> tuple[tuple[float, float], list[str]]:
    """(messages per second to the last read receipt, to the last message answered and committed)."""
    client.flushall()
    graph = FakeGraph.start_in_thread(latency=0.1, record=False)
    serve_port = free_port()
    env = {**server_env(redis_server.url, serve_port, graph.base_url), "HANDOVER_RULES": str(rules)}
    serve = Process(["serve"], env, LOGS / "serve2.log").start()
    workers: list[Process] = []
    url = f"http://127.0.0.1:{serve_port}/webhook"
    profiles = None
    try:
        wait_for(lambda: is_up(f"http://127.0.0.1:{serve_port}/readyz"), 30, "handover serve")
        if workers_first:
            workers = [Process(["worker"], env, LOGS / f"worker{i}.log").start() for i in range(2)]
            time.sleep(2)  # let the workers start
            if profile:
                pids = {"serve": serve.pid, **{f"worker{i}": w.pid for i, w in enumerate(workers)}}
                profiles = Profiles(LOGS, "processing", pids)
            started = time.perf_counter()
            asyncio.run(closed_loop(url, conversations(count), 32))
        else:
            asyncio.run(closed_loop(url, conversations(count), 32))
            workers = [Process(["worker"], env, LOGS / f"worker{i}.log").start() for i in range(2)]
            started = time.perf_counter()  # includes the workers' start-up, as the rq baseline's does
        wait_for(lambda: processed(client) >= count, 600, "every message handled", interval=0.02)
        handled = count / (time.perf_counter() - started)
        wait_for(lambda: receipts_done(client, count), 600, "every message read", interval=0.05)
        rate = count / (time.perf_counter() - started)
        return (rate, handled), profiles.stop() if profiles is not None else []
    finally:
        for w in workers:
            w.stop()
        serve.stop()
        graph.stop()


def main() -> None:
    cli = argparse.ArgumentParser(prog="python -m bench")
    cli.add_argument("--messages", type=int, default=10_000)
    cli.add_argument("--concurrency", type=int, default=32)
    cli.add_argument(
        "--only",
        choices=[
            "ingestion",
            "processing",
            "mixed",
            "matching",
            "parsing",
            "whatif",
            "desk",
            "assign",
            "overload",
        ],
    )
    cli.add_argument(
        "--profile",
        action="store_true",
        help="py-spy flame graphs of serve and each worker (processing and mixed), in bench/results/",
    )
    args = cli.parse_args()
    # stopped with SIGTERM (a CI timeout, `kill`), still stop the servers and workers it started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    LOGS.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "matching"):
        matching()
    if args.only in (None, "parsing"):
        parsing()
    if args.only in (None, "whatif"):
        bench_whatif()
    if args.only in (None, "desk"):
        desk()
    if args.only in ("matching", "parsing", "whatif", "desk"):
        return
    redis_server = RedisServer().start()
    try:
        if args.only in (None, "ingestion"):
            ingestion(redis_server, args.messages, args.concurrency)
        if args.only in (None, "processing"):
            processing(redis_server, args.messages, args.profile)
        if args.only in (None, "mixed"):
            mixed(redis_server, args.profile)
        if args.only in (None, "assign"):
            bench_assign(redis_server)
        if args.only in (None, "overload"):
            overload(redis_server)
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
