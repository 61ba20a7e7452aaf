"""Live connections: an agent whose desk has been disconnected past a grace period is taken offline.

Each web process refreshes the mark of every agent with an event stream open in one sorted set (agent
id -> last seen, ms), all of them in one write per beat; a periodic sweep takes agents whose mark is older
than the grace period out of the set, sets them offline and puts their conversations back into their
queues, ahead of newer ones (reason `agent_unavailable`).
Agents that never opened the event stream (an integration driving the API alone) are not in the set, so
they keep their presence until they change it."""

from __future__ import annotations

from collections.abc import Collection

import redis
import structlog
from redis.asyncio import Redis as AsyncRedis

from handover import keys, lua
from handover.agents import AgentStore, Presence, UnknownAgent
from handover.clock import Clock, system_clock
from handover.transfers import Transfers

log = structlog.get_logger(__name__)

DEFAULT_GRACE_SECONDS = 60.0


def heartbeat_seconds(grace: float) -> float:
    """How often an open stream refreshes its mark: well inside the grace period."""
    return max(0.2, min(15.0, grace / 3))


def sweep_seconds(grace: float) -> float:
    """Look for gone agents a few times per grace period, so the delay stays close to it."""
    return max(0.5, min(10.0, grace / 4))


def seen(client: redis.Redis, agent_id: str, clock: Clock = system_clock) -> None:
    """A desk of this agent is connected (or was, until just now)."""
    now = clock()
    client.zadd(keys.AGENTS_LIVE, {agent_id: int(now * 1000)})


def drop_gone(
    client: redis.Redis,
    agents: AgentStore,
    transfers: Transfers,
    grace: float = DEFAULT_GRACE_SECONDS,
    clock: Clock = system_clock,
) -> list[str]:
    """Agents whose desks have all been gone longer than `grace`: offline, conversations re-queued."""
    now = clock()
    cutoff = int((now - grace) * 1000)
    take = lua.script(client, "take_if_stale")
    gone = []
    for raw in client.zrangebyscore(keys.AGENTS_LIVE, "-inf", cutoff):
        agent_id = keys.as_text(raw)
        if not take(keys=[keys.AGENTS_LIVE], args=[agent_id, cutoff]):
            continue  # reconnected meanwhile
        try:
            agent = agents.get(agent_id)
        except UnknownAgent:
            continue
        if agent.status is not Presence.OFFLINE:
            agents.set_status(agent_id, Presence.OFFLINE, why="connection_lost")
        moved = transfers.requeue_held(agent)
        log.info("agent_connection_lost", agent_id=agent_id, requeued=len(moved), grace_seconds=grace)
        gone.append(agent_id)
    return gone


# The web process marks every agent with a stream open from its event loop, in one write per beat


async def seen_async(client: AsyncRedis, agent_ids: Collection[str], now: float) -> None:
    """`seen` for many agents at once, from the web process's event loop: one ZADD, whatever their number."""
    if agent_ids:
        await client.zadd(keys.AGENTS_LIVE, dict.fromkeys(agent_ids, int(now * 1000)))
