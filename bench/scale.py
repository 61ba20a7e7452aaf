"""Redis memory as conversations pile up, driven in this process through the product's own code.

Creating 100,000 conversations over HTTP would take longer than the whole bench may. Here each message
takes the webhook's path minus HTTP and the signature (webhooks.normalize, then
handover.traffic.enqueue.ingest, the Lua script `handover serve` runs), then the worker's
(handover.traffic.streams.drain with the Processor and
Sender that app.wiring builds; only Meta is replaced, by a function answering every send at once with a
new wamid, so deliveries and wamid keys are kept as with Meta). Agents resolve through
handover.assignment.claims.Assignments (claim, two replies, resolve with the survey), as the desk API does.
Conversations go in rounds, one turn of each at a time, so every customer writes after the bot answered.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import redis

from app.logging import configure_logging
from app.wiring import async_client, sync_client, worker_runtime
from bench.customers import Identity, Script, message, pick
from config.settings import Settings
from handover import keys
from handover.agents import AgentStore, Presence, Role
from handover.assignment.claims import Assignments
from handover.message import OutboundKind, SendOutcome
from handover.traffic.enqueue import InboundItem, OutboundJob, ingest
from handover.traffic.outbound import Sender
from handover.traffic.streams import Lane, drain, ensure_groups
from tests.support.webhook import body
from webhooks.normalize import normalize

PARTITIONS = 16
PER_BODY = 50  # messages per ingested body: Meta's batches
RESOLVED_SHARE = 0.9  # of the conversations handed over: the rest still wait
CHUNK = 2_000  # conversations made at once (the rounds of turns go over all of them)


def answered_by_meta(
    groups: list[list[OutboundJob]], keepalive: Callable[[], None]
) -> dict[str, SendOutcome | None]:
    """Every send accepted at once; messages get a wamid as Meta's answer gives them (receipts none)."""
    return {
        job.id: SendOutcome(
            ok=True,
            wa_message_id=None
            if job.request.kind is OutboundKind.MARK_READ
            else f"wamid.scale.{uuid.uuid4().hex}",
        )
        for group in groups
        for job in group
    }


@dataclass
class Point:
    conversations: int
    used_memory: int
    seconds: float  # spent creating conversations so far


class InProcess:
    """The webhook's storing and the worker's processing, in this process, against a real redis-server."""

    def __init__(self, redis_url: str, rules: Path) -> None:
        settings = Settings(redis_url=redis_url, handover_rules=rules, handover_partitions=PARTITIONS)
        self.client: redis.Redis = sync_client(settings)
        ensure_groups(self.client, PARTITIONS)
        runtime = worker_runtime(settings, self.client)
        self.runtime = replace(
            runtime, sender=Sender(store=runtime.processor.store, send_many=answered_by_meta)
        )
        self.settings = settings
        holder = runtime.processor.rules
        assert holder is not None
        self.assignments = Assignments(runtime.processor.store, PARTITIONS, holder)
        agents = AgentStore(self.client)
        agent, _ = agents.add("Scale agent", ["general", "billing", "retention"], 1, Role.AGENT)
        agents.set_status(agent.id, Presence.AVAILABLE)
        self.agent = agents.get(agent.id)

    async def store(self, messages: list[dict[str, object]]) -> None:
        client = async_client(self.settings)
        try:
            for start in range(0, len(messages), PER_BODY):
                normalized = normalize(body(messages[start : start + PER_BODY]))
                items = [InboundItem(type="message", message=m) for m in normalized.messages]
                await ingest(client, items, PARTITIONS)
        finally:
            await client.aclose()

    def drain(self) -> None:
        """Every partition, both lanes, until nothing is left (the workers' wake-up list is not needed)."""
        while True:
            handled = 0
            for lane in (Lane.INBOUND, Lane.OUTBOUND):
                for p in range(PARTITIONS):
                    handled += drain(
                        self.client, lane, p, self.runtime.handler(lane), batch_size=200, lease_seconds=30
                    )
            if not handled:
                break
        self.client.delete(keys.WAKEUPS)

    def resolve_waiting(self, count: int) -> int:
        """An agent claims `count` waiting conversations one by one, replies twice and resolves each."""
        done = 0
        for _ in range(count):
            claimed = self.assignments.claim_next(self.agent)
            if claimed is None:
                break
            self.assignments.send(self.agent, claimed.id, "Olá! Vou verificar.")
            self.assignments.send(self.agent, claimed.id, "Pronto, resolvido.")
            self.assignments.resolve(self.agent, claimed.id)
            done += 1
        return done


def conversations(
    world: InProcess, people: list[Identity], count: int, rng: random.Random, run: str, first: int
) -> None:
    """`count` new conversations of the bench's mix, turn by turn, then most of those handed over resolved."""
    talks: list[tuple[str, Script]] = [(f"55118{first + n:08d}", pick(rng, people)) for n in range(count)]
    turn = 0
    while True:
        said = [
            message(script.turns[turn], wa_id, f"wamid.{run}.{first + n}.{turn}", int(time.time()))
            for n, (wa_id, script) in enumerate(talks)
            if turn < len(script.turns)
        ]
        if not said:
            break
        asyncio.run(world.store(said))
        world.drain()
        turn += 1
    handed = sum(1 for _, script in talks if script.escalates)
    world.resolve_waiting(round(handed * RESOLVED_SHARE))
    world.drain()


def grow(
    redis_url: str, rules: Path, people: list[Identity], most: int, budget: float
) -> tuple[list[Point], float]:
    """Conversations created CHUNK at a time up to `most` (or while another chunk fits in `budget`
    seconds), with the server's used_memory after each; returns the points and the conversations a second."""
    configure_logging("WARNING")  # the product's code logs every message at INFO: not what is measured here
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    world = InProcess(redis_url, rules)
    rng, run = random.Random(7), uuid.uuid4().hex[:6]
    points = [Point(0, int(client.info("memory")["used_memory"]), 0.0)]
    made, started = 0, time.perf_counter()
    chunk_seconds = 0.0
    while made < most and time.perf_counter() - started + chunk_seconds <= budget:
        size = min(CHUNK, most - made)
        before = time.perf_counter()
        conversations(world, people, size, rng, run, made)
        chunk_seconds = time.perf_counter() - before
        made += size
        points.append(Point(made, int(client.info("memory")["used_memory"]), time.perf_counter() - started))
    client.close()
    world.client.close()
    return points, made / (time.perf_counter() - started)
