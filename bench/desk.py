"""`python -m bench --only desk`: the desk with 10,000 customers waiting (issue 15).

A real redis-server and a real `handover serve` process on loopback; WAITING conversations waiting across
three queues, seeded through the services' own code (Store, Lifecycle.move: queues, activity index,
events); AGENTS agents, each on two of the queues, and two supervisors. Two phases:

(a) each route alone, one request at a time, on the 10,000 waiting: what a route costs;
(b) under load: every agent's desk keeps /api/v1/events open and loops claim → read the conversation →
    reply twice → resolve, with a short pause between actions; the supervisors page the list (plain and
    filtered) and read /queues; agents page their own list. Meanwhile a process of its own times the claim
    decision itself (Lifecycle.claim: the candidates and the script) for an agent of its own.

Prints p50/p99 per route against the targets (list <= 50 ms, /queues <= 10 ms, claim p99 <= 5 ms), as
figures: nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import random
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis

from handover import keys
from handover.agents import Agent, AgentStore, Presence, Role
from handover.conversation import ConversationState
from handover.errors import Conflict
from handover.lifecycle import Lifecycle
from tests.support.processes import Process, is_up, wait_for
from tests.support.redis_server import RedisServer, free_port
from tests.support.stack import always_open_rules
from tests.support.waiting import PNID, seed_waiting

QUEUES = ("general", "billing", "retention")
WAITING = 10_000
AGENTS = 50
CAPACITY = 3
ALONE = 200  # requests per route in phase (a)
LOAD_SECONDS = 30.0
PAUSE = 1.0  # seconds between an agent's actions: 50 agents offer ~50 requests/s, plus the lists
SUPERVISOR_PAUSE = 1.0  # at most, between a supervisor's reads
LOGS = Path(__file__).resolve().parent / "results"
DECISION = "claim decision (Lifecycle.claim)"
DECISION_SECONDS = 5.0  # in phase (a): the decision alone, over and over
TARGETS = {"list": 50.0, "queues": 10.0, "claim": 5.0}  # ms: p50 and p99 for lists, p99 for claims


@dataclass
class Timings:
    """Latencies (seconds) by route, and the answers that were not what the route gives when it works."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def p(self, route: str, q: float) -> float:
        ordered = sorted(self.seconds[route])
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self, route: str) -> str:
        n = len(self.seconds[route])
        return (
            f"    {route:<52} n {n:5d}  p50 {self.p(route, 0.5):7.2f} ms  p99 {self.p(route, 0.99):7.2f} ms"
            f"  errors {self.errors[route]}"
        )


@dataclass(frozen=True)
class Desk:
    agents: list[tuple[Agent, str]]  # each with its token
    supervisors: list[tuple[Agent, str]]


def seed(client: redis.Redis) -> Desk:
    """A fresh database: WAITING conversations, half a second apart, round the queues; the agents (each on
    two queues, available) and supervisors with their tokens."""
    client.flushall()
    start = time.time() - WAITING
    seed_waiting(client, [(f"5511{i:08d}", QUEUES[i % len(QUEUES)], start + i * 0.5) for i in range(WAITING)])
    agents = AgentStore(client)
    team = []
    for n in range(AGENTS):
        queues = [QUEUES[n % len(QUEUES)], QUEUES[(n + 1) % len(QUEUES)]]
        agent, token = agents.add(f"Agent {n:02d}", queues, CAPACITY, Role.AGENT)
        agents.set_status(agent.id, Presence.AVAILABLE)
        team.append((agents.get(agent.id), token))
    bosses = []
    for n in range(2):
        boss, token = agents.add(f"Supervisor {n}", list(QUEUES), CAPACITY, Role.SUPERVISOR)
        bosses.append((boss, token))
    return Desk(team, bosses)


class Client:
    """Timed requests to the desk API, one session for everyone (keep-alive connections)."""

    def __init__(self, session: aiohttp.ClientSession, timings: Timings) -> None:
        self.session = session
        self.timings = timings

    async def call(
        self, route: str, method: str, path: str, token: str, body: Any = None, ok: tuple[int, ...] = (200,)
    ) -> tuple[int, Any, dict[str, str]]:
        started = time.perf_counter()
        async with self.session.request(
            method, f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            data = await response.json() if response.status != 204 else None
            elapsed = time.perf_counter() - started
            self.timings.seconds[route].append(elapsed)
            if response.status not in ok:
                self.timings.errors[route] += 1
            return response.status, data, dict(response.headers)


LIST_ROUTES = {
    "GET /conversations (agent)": ("agent", ""),
    "GET /conversations (agent, 2nd page)": ("agent", "next"),
    "GET /conversations?state=queued&queue=billing (agent)": ("agent", "?state=queued&queue=billing"),
    "GET /conversations (supervisor)": ("supervisor", ""),
    "GET /conversations (supervisor, 2nd page)": ("supervisor", "next"),
    "GET /conversations?state=queued&queue=retention (sup.)": ("supervisor", "?state=queued&queue=retention"),
    "GET /conversations?state=assigned (supervisor)": ("supervisor", "?state=assigned"),
    "GET /conversations?agent_id=... (supervisor)": ("supervisor", "agent"),
}


async def list_once(client: Client, route: str, desk: Desk, rng: random.Random) -> None:
    who, how = LIST_ROUTES[route]
    agent, token = rng.choice(desk.agents)
    if who == "supervisor":
        token = rng.choice(desk.supervisors)[1]
    if how == "next":
        _, _, headers = await client.call(f"{route} [1st]", "GET", "/conversations", token)
        cursor = headers.get("X-Next-Cursor", "")
        await client.call(route, "GET", f"/conversations?cursor={cursor}", token)
    elif how == "agent":
        await client.call(route, "GET", f"/conversations?agent_id={agent.id}", token)
    else:
        await client.call(route, "GET", f"/conversations{how}", token)


async def agent_round(client: Client, token: str, pause: float) -> bool:
    """Claim, read, reply twice, resolve: one conversation through an agent's hands. False: none waits."""
    status, detail, _ = await client.call("POST /queues/next", "POST", "/queues/next", token, ok=(200, 204))
    if status != 200:
        return False
    path = f"/conversations/{detail['id']}"
    for route, method, suffix, body, ok in (
        ("GET /conversations/{id}", "GET", "", None, (200,)),
        ("POST /conversations/{id}/messages", "POST", "/messages", {"text": "Olá! Vou verificar."}, (202,)),
        ("POST /conversations/{id}/messages", "POST", "/messages", {"text": "Pronto, resolvido."}, (202,)),
        ("POST /conversations/{id}/resolve", "POST", "/resolve", None, (200,)),
    ):
        await asyncio.sleep(pause)
        await client.call(route, method, path + suffix, token, body, ok=ok)
    return True


async def alone(base: str, desk: Desk, redis_url: str, decider: Agent) -> Timings:
    """Phase (a): every route on its own, one request at a time."""
    timings, rng = Timings(), random.Random(1)
    async with aiohttp.ClientSession(base) as session:
        client = Client(session, timings)
        for route in LIST_ROUTES:
            for _ in range(ALONE):
                await list_once(client, route, desk, rng)
        for who, token in (("agent", desk.agents[0][1]), ("supervisor", desk.supervisors[0][1])):
            for _ in range(ALONE):
                await client.call(f"GET /queues ({who})", "GET", "/queues", token)
        for _ in range(ALONE // 4):
            await agent_round(client, rng.choice(desk.agents)[1], 0)
    found: queue.SimpleQueue[tuple[list[float], int]] = queue.SimpleQueue()
    await asyncio.to_thread(decisions, redis_url, decider.id, DECISION_SECONDS, found, 0.0, ALONE)
    timings.seconds[DECISION], timings.errors[DECISION] = found.get()
    return timings


async def events(base: str, token: str, seen: list[int]) -> None:
    """A desk's live stream, read until cancelled; counts the events it got (read in chunks, as cheaply
    as a client can, so the load generator takes little of the machine from the server)."""
    async with (
        aiohttp.ClientSession(base) as session,
        session.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        async for chunk in response.content.iter_any():
            seen[0] += chunk.count(b"\nevent:")


def decisions(
    redis_url: str, agent_id: str, seconds: float, found: Any, pause: float = 0.0, most: int = 10**9
) -> None:
    """The claim decision alone (Lifecycle.claim: the candidates read and the script), let go again
    through the same code (finish), for `seconds` (`most` times at most), `pause` apart; puts (latencies,
    errors) on `found`.
    Under load it runs in a process of its own, so it shares no interpreter with the load generator."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    agent, lifecycle = AgentStore(client).get(agent_id), Lifecycle(client)
    timed, errors, deadline = [], 0, time.monotonic() + seconds
    while time.monotonic() < deadline and len(timed) < most:
        started = time.perf_counter()
        try:
            claimed = lifecycle.claim(agent.id, agent.capacity, [(PNID, q) for q in agent.queues])
        except Conflict:
            errors += 1
            continue
        timed.append(time.perf_counter() - started)
        if claimed is not None:
            lifecycle.finish(agent.id, claimed.conversation_id, ConversationState.RESOLVED)
        time.sleep(pause)
    client.close()
    found.put((timed, errors))


async def under_load(base: str, redis_url: str, desk: Desk, decider: Agent) -> tuple[Timings, int, float]:
    """Phase (b): agents working, supervisors watching, every desk's stream open. Returns the timings,
    the events the streams got, and the requests per second served."""
    timings, seen = Timings(), [0]
    streams = [asyncio.create_task(events(base, token, seen)) for _, token in desk.agents + desk.supervisors]
    await asyncio.sleep(1)  # the streams connect
    deadline = time.monotonic() + LOAD_SECONDS

    async def agent(client: Client, token: str, n: int) -> None:
        rng = random.Random(n)
        await asyncio.sleep(rng.random() * PAUSE * 4)  # not all at once
        while time.monotonic() < deadline:
            if rng.random() < 0.1:
                await list_once(client, "GET /conversations (agent)", desk, rng)
            if not await agent_round(client, token, PAUSE):
                await asyncio.sleep(PAUSE)

    async def supervisor(client: Client, n: int) -> None:
        rng = random.Random(1000 + n)
        while time.monotonic() < deadline:
            route = rng.choice([*LIST_ROUTES, "GET /queues (supervisor)"])
            if route.startswith("GET /queues"):
                await client.call(route, "GET", "/queues", desk.supervisors[n][1])
            else:
                await list_once(client, route, desk, rng)
            await asyncio.sleep(SUPERVISOR_PAUSE * rng.random())

    async def queues_watch(client: Client) -> None:
        while time.monotonic() < deadline:
            await client.call("GET /queues (agent)", "GET", "/queues", desk.agents[0][1])
            await asyncio.sleep(PAUSE)

    spawn = multiprocessing.get_context("spawn")
    found = spawn.Queue()
    decide = spawn.Process(target=decisions, args=(redis_url, decider.id, LOAD_SECONDS, found, PAUSE / 20))
    decide.start()
    started = time.perf_counter()
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=200)) as session:
        client = Client(session, timings)
        await asyncio.gather(
            *(agent(client, token, n) for n, (_, token) in enumerate(desk.agents)),
            *(supervisor(client, n) for n in range(len(desk.supervisors))),
            queues_watch(client),
        )
    elapsed = time.perf_counter() - started
    timed, errors = await asyncio.to_thread(found.get)
    await asyncio.to_thread(decide.join)
    timings.seconds[DECISION], timings.errors[DECISION] = timed, errors
    for stream in streams:
        stream.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    served = sum(len(v) for k, v in timings.seconds.items() if not k.startswith("claim decision"))
    return timings, seen[0], served / elapsed


def _target(route: str) -> str:
    if "/conversations" in route and route.startswith("GET /conversations") and "{id}" not in route:
        return f"(target <= {TARGETS['list']:.0f} ms)"
    if route.startswith("GET /queues"):
        return f"(target <= {TARGETS['queues']:.0f} ms)"
    if route.startswith("POST /queues/next") or route.startswith("claim decision"):
        return f"(target p99 <= {TARGETS['claim']:.0f} ms)"
    return ""


def _print(timings: Timings) -> None:
    for route in sorted(timings.seconds, key=_order):
        if route.endswith("[1st]"):
            continue
        print(f"{timings.line(route)}  {_target(route)}")


def _order(route: str) -> tuple[int, str]:
    kinds = ("GET /conversations", "GET /queues", "POST /queues/next", "claim decision", "GET /conv", "POST")
    return next((i for i, k in enumerate(kinds) if route.startswith(k)), len(kinds)), route


async def _run(redis_server: RedisServer, workdir: Path) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    started = time.perf_counter()
    desk = seed(client)
    seeded = time.perf_counter() - started
    decider, _ = AgentStore(client).add("Bench decider", list(QUEUES), CAPACITY, Role.AGENT)
    AgentStore(client).set_status(decider.id, Presence.AVAILABLE)
    port = free_port()
    env = {
        "REDIS_URL": redis_server.url,
        "WHATSAPP_ACCESS_TOKEN": "",  # sandbox: the replies wait in the outbound streams (no worker runs)
        "HANDOVER_SANDBOX": "1",
        "HANDOVER_PORT": str(port),
        "HANDOVER_RULES": str(always_open_rules(workdir)),
        "HANDOVER_LOG_LEVEL": "WARNING",
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    serve = Process(["serve"], env, LOGS / "serve-desk.log").start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: is_up(f"{base}/readyz"), 30, "handover serve")
        first = time.perf_counter()
        async with aiohttp.ClientSession(base) as session:  # the first read files the seeded index
            await Client(session, Timings()).call("first", "GET", "/conversations", desk.supervisors[0][1])
        built = time.perf_counter() - first
        a = await alone(base, desk, redis_server.url, AgentStore(client).get(decider.id))
        waiting = sum(client.zcard(keys.queue_key(PNID, q)) for q in QUEUES)
        b, seen, rate = await under_load(base, redis_server.url, desk, AgentStore(client).get(decider.id))
    finally:
        serve.stop()
        client.close()
    print(
        f"(f) the desk at scale: {WAITING:,} waiting across {len(QUEUES)} queues (seeded in {seeded:.1f} s; "
        f"the first list read {built * 1000:.0f} ms), real redis-server and `handover serve`"
    )
    print(f"    (a) each route alone, one request at a time ({waiting:,} still waiting after it)")
    _print(a)
    print(
        f"    (b) under load for {LOAD_SECONDS:.0f} s: {AGENTS} agents (capacity {CAPACITY}) claiming, "
        f"reading, replying and resolving ({PAUSE:.1f} s apart), 2 supervisors paging, "
        f"{len(desk.agents) + 2} event streams open ({seen:,} events delivered); {rate:.0f} requests/s served"
    )
    _print(b)


def desk() -> None:
    server = RedisServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-desk-") as workdir:
            asyncio.run(_run(server, Path(workdir)))
    finally:
        server.stop()
