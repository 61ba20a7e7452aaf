"""The desk's claim and list routes three ways, in one run, on a real redis-server (issue 14):

(a) as before issue 14: a thread hop per service call (`POST /queues/next` made three) and the list read
    one conversation per round trip;
(b) what the desk does now: one thread hop per route into desk/service.py, pipelined reads;
(c) a prototype of the same two routes on `redis.asyncio` in the handler: the same claim script
    (lua.async_script), the same keys, no thread at all.

The app is the real one (app.web.build_app) in this process; (a) and (c) are mounted beside the real routes
under /api/v1/bench/, behind the same bearer-token middleware (one thread hop of its own in every variant).
Each variant starts from the same data: WAITING conversations in one queue, AGENTS agents on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis as AsyncRedis
from redis.commands.core import AsyncScript

from app.web import build_app
from config.settings import Settings
from desk.http import AGENT, DESK, DeskContext, ok
from desk.models import ConversationDetail, ConversationSummary
from handover import keys, lua
from handover.agents import Agent, AgentStore, Presence, Role
from handover.conversation import Conversation, ConversationState
from handover.errors import Conflict, Unavailable
from handover.keys import DESK_EVENTS_KEPT as EVENTS_KEPT
from handover.kpis import hour_key
from handover.lifecycle import CANDIDATES, CLAIM_ATTEMPTS
from handover.packet import ContextPacket
from handover.queues import PRIORITY_SPAN, enqueue
from handover.rules.model import Priority
from handover.store import Store, _decode_hash
from handover.transcript import Delivery, TranscriptEntry
from tests.support.redis_server import RedisServer

QUEUE = "general"
WAITING = 2_000
AGENTS = 20
CLAIMS_EACH = 40  # per agent: 800 claims of the 2,000 waiting, each agent under the capacity of 50
LISTS = 60  # GET /conversations per variant; each lists every waiting conversation
LIST_CLIENTS = 4
ENTRIES = 4  # transcript entries per conversation


@dataclass
class Timed:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        rate = len(self.latencies) / self.seconds
        latency = f"p50 {self.p(0.5):7.2f} ms  p99 {self.p(0.99):7.2f} ms"
        return f"{rate:6.0f} req/s  {latency}  errors {self.errors}"


# (a) before issue 14, as the handlers were


async def claim_hops(request: web.Request) -> web.StreamResponse:
    ctx, agent = request.app[DESK], request[AGENT]
    fresh = await asyncio.to_thread(ctx.agents.get, agent.id)
    conversation = await asyncio.to_thread(ctx.assignments.claim_next, fresh)
    if conversation is None:
        return web.Response(status=204)
    return ok(await asyncio.to_thread(ConversationDetail.load, ctx.store, conversation, ctx.clock()))


async def list_hops(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    found = await asyncio.to_thread(_visible_one_by_one, ctx, agent)
    return ok([ConversationSummary.of(c, ctx.clock()) for c in found])


def _visible_one_by_one(ctx: DeskContext, agent: Agent) -> list[Conversation]:
    client = ctx.store.client
    ids = [keys.as_text(i) for i in client.smembers(keys.agent_load_key(agent.id))]
    for name in agent.queues:
        ids += [keys.as_text(i) for i in client.zrange(keys.queue_key(name), 0, -1)]
    offered = [keys.as_text(i) for i in client.zrange(keys.OFFERS, 0, -1)]
    listed = set(ids)
    conversations = [ctx.store.conversation(i) for i in dict.fromkeys(ids + offered)]
    return sorted(
        (c for c in conversations if c is not None and (c.id in listed or c.offer_to == agent.id)),
        key=lambda c: c.updated_at,
    )


# (c) the prototype on redis.asyncio

ASYNC = web.AppKey("bench_async", AsyncRedis)
CLAIM = web.AppKey("bench_claim", AsyncScript)


async def claim_async(request: web.Request) -> web.StreamResponse:
    client, agent_id = request.app[ASYNC], request[AGENT].id
    raw, status = await client.hmget(keys.agent_key(agent_id), ["json", "status"])
    agent = Agent.model_validate_json(raw).model_copy(update={"status": Presence(status or "offline")})
    if agent.status is not Presence.AVAILABLE:
        raise Unavailable("set your status to available to take conversations")
    now = time.time()
    for _ in range(CLAIM_ATTEMPTS):
        async with client.pipeline(transaction=False) as pipe:
            for queue in agent.queues:
                pipe.zrange(keys.queue_key(queue), 0, CANDIDATES - 1)
            heads = await pipe.execute()
        candidates = list(dict.fromkeys(c for head in heads for c in head))
        result = await request.app[CLAIM](
            keys=[
                keys.agent_load_key(agent.id),
                keys.COUNTERS,
                hour_key(now),
                keys.DESK_EVENTS,
                *(keys.queue_key(q) for q in agent.queues),
                *(keys.queue_waits_key(q) for q in agent.queues),
                *(keys.conversation_key(c) for c in candidates),
            ],
            args=[agent.id, agent.capacity, now, PRIORITY_SPAN, EVENTS_KEPT, len(agent.queues), *candidates],
        )
        if result[0] == "full":
            raise Conflict(f"at capacity ({agent.capacity} conversations)")
        if result[0] == "empty":
            return web.Response(status=204)
        if result[0] == "claimed":
            return ok(await _detail_async(client, result[1]))
    raise Conflict("others are taking conversations from these queues right now: try again")


async def _detail_async(client: AsyncRedis, conversation_id: str) -> ConversationDetail:
    async with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.conversation_key(conversation_id))
        pipe.get(keys.packet_key(conversation_id))
        pipe.zrange(keys.transcript_key(conversation_id), 0, -1)
        raw, packet, ids = await pipe.execute()
    async with client.pipeline(transaction=False) as pipe:
        pipe.hmget(keys.entries_key(conversation_id), ids or ["-"])
        pipe.hmget(keys.delivery_key(conversation_id), ids or ["-"])
        bodies, deliveries = await pipe.execute()
    entries = []
    for body, delivery in zip(bodies, deliveries, strict=True):
        if body is not None:
            entry = TranscriptEntry.model_validate_json(body)
            entry.delivery = Delivery.model_validate_json(delivery) if delivery else None
            entries.append(entry)
    conversation = Conversation.model_validate(_decode_hash(raw))
    summary = ConversationSummary.of(conversation, time.time()).model_dump()
    return ConversationDetail(
        **summary,
        identity=conversation.identity,
        packet=ContextPacket.model_validate_json(packet) if packet else None,
        transcript=entries,
    )


async def list_async(request: web.Request) -> web.Response:
    client, agent = request.app[ASYNC], request[AGENT]
    async with client.pipeline(transaction=False) as pipe:
        pipe.smembers(keys.agent_load_key(agent.id))
        for name in agent.queues:
            pipe.zrange(keys.queue_key(name), 0, -1)
        pipe.zrange(keys.OFFERS, 0, -1)
        held, *waiting, offered = await pipe.execute()
    listed = set(held) | {c for ids in waiting for c in ids}
    ids = sorted(listed) + [c for c in offered if c not in listed]
    async with client.pipeline(transaction=False) as pipe:
        for conversation_id in ids:
            pipe.hgetall(keys.conversation_key(conversation_id))
        found = [Conversation.model_validate(_decode_hash(raw)) for raw in await pipe.execute() if raw]
    visible = sorted(
        (c for c in found if c.id in listed or c.offer_to == agent.id), key=lambda c: c.updated_at
    )
    return ok([ConversationSummary.of(c, time.time()) for c in visible])


# the run


def seed(client: redis.Redis) -> list[str]:
    """A fresh database: WAITING conversations queued in QUEUE, AGENTS available agents; their tokens."""
    client.flushall()
    store, agents = Store(client), AgentStore(client)
    now = time.time() - 600
    for start in range(0, WAITING, 250):
        with client.pipeline(transaction=False) as pipe:
            for i in range(start, min(start + 250, WAITING)):
                at = now + i * 0.1
                conversation = Conversation(
                    id=f"bench{i:05d}",
                    phone_number_id="100000000000001",
                    customer_key=f"5511{i:08d}",
                    wa_id=f"5511{i:08d}",
                    profile_name=f"Customer {i}",
                    state=ConversationState.QUEUED,
                    queue=QUEUE,
                    priority=Priority.NORMAL.value,
                    created_at=at,
                    updated_at=at,
                    last_customer_message_at=at,
                    window_expires_at=at + 24 * 3600,
                )
                store.save_conversation(pipe, conversation)
                enqueue(pipe, QUEUE, conversation.id, Priority.NORMAL, at)
                for n in range(ENTRIES):
                    entry = TranscriptEntry(
                        id=f"wamid.bench.{i}.{n}", direction="in", at=at + n, kind="text", text="ajuda"
                    )
                    store.append_entry(pipe, conversation.id, entry)
            pipe.execute()
    tokens = []
    for n in range(AGENTS):
        agent, token = agents.add(f"Agent {n:02d}", [QUEUE], 50, Role.AGENT)
        agents.set_status(agent.id, Presence.AVAILABLE)
        tokens.append(token)
    return tokens


Request = Callable[[aiohttp.ClientSession, dict[str, str]], Awaitable[int]]


async def load(base: str, tokens: list[str], count: int, call: Request, ok_statuses: set[int]) -> Timed:
    """Every token's client sends `count` requests one after another, all clients at once."""
    timed = Timed()

    async def agent(session: aiohttp.ClientSession, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(count):
            started = time.perf_counter()
            if await call(session, headers) not in ok_statuses:
                timed.errors += 1
            timed.latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(base) as session:
        started = time.perf_counter()
        await asyncio.gather(*(agent(session, t) for t in tokens))
        timed.seconds = time.perf_counter() - started
    return timed


def caller(method: str, path: str) -> Request:
    async def call(session: aiohttp.ClientSession, headers: dict[str, str]) -> int:
        async with session.request(method, path, headers=headers) as response:
            await response.read()
            return response.status

    return call


VARIANTS = {
    "(a) a hop per call": ("/api/v1/bench/hops/next", "/api/v1/bench/hops/conversations"),
    "(b) one hop per route": ("/api/v1/queues/next", "/api/v1/conversations"),
    "(c) redis.asyncio": ("/api/v1/bench/async/next", "/api/v1/bench/async/conversations"),
}


async def _run(redis_url: str) -> dict[str, tuple[Timed, Timed, Timed]]:
    sync = redis.Redis.from_url(redis_url, decode_responses=True)
    client = AsyncRedis.from_url(redis_url, decode_responses=True)
    settings = Settings(
        redis_url=redis_url,
        whatsapp_access_token="bench",
        whatsapp_app_secret="bench",
        whatsapp_verify_token="bench",
    )
    app = build_app(settings, client, sync)
    app[ASYNC] = client
    app[CLAIM] = lua.async_script(client, "claim")
    app.add_routes(
        [
            web.post("/api/v1/bench/hops/next", claim_hops),
            web.get("/api/v1/bench/hops/conversations", list_hops),
            web.post("/api/v1/bench/async/next", claim_async),
            web.get("/api/v1/bench/async/conversations", list_async),
        ]
    )
    results: dict[str, tuple[Timed, Timed, Timed]] = {}
    async with TestServer(app) as server:
        base = str(server.make_url("/"))
        for name, (claim_path, list_path) in VARIANTS.items():
            tokens = await asyncio.to_thread(seed, sync)
            await load(base, tokens[:LIST_CLIENTS], 3, caller("GET", list_path), {200})  # warm up
            lists = await load(
                base, tokens[:LIST_CLIENTS], LISTS // LIST_CLIENTS, caller("GET", list_path), {200}
            )
            alone = await load(base, tokens[:1], CLAIMS_EACH, caller("POST", claim_path), {200})
            claims = await load(base, tokens[1:], CLAIMS_EACH, caller("POST", claim_path), {200})
            results[name] = (alone, claims, lists)
    await client.aclose()
    sync.close()
    return results


def desk_routes() -> None:
    server = RedisServer().start()
    try:
        results = asyncio.run(_run(server.url))
    finally:
        server.stop()
    print(
        f"(f) desk routes, in-process app on a real redis-server: {WAITING} waiting, {AGENTS} agents "
        f"(one agent claiming alone, then {AGENTS - 1} at once; {LIST_CLIENTS} listing at once)"
    )
    base = results["(a) a hop per call"]
    for name, timings in results.items():
        print(f"    {name}")
        routes = ("POST /queues/next, alone", f"POST /queues/next, {AGENTS - 1} at once")
        routes += ("GET /conversations",)
        for route, timed, first in zip(routes, timings, base, strict=True):
            print(f"      {route:<29} {timed.line()}  p50 x{timed.p(0.5) / first.p(0.5):.2f} of (a)")
