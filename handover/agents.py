"""Agents and supervisors: who they are, their queues, capacity, languages and skills, presence, and their
hashed tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING

import redis
from pydantic import BaseModel, Field

from handover import audit, keys
from handover.clock import Clock, system_clock
from handover.events import publish
from handover.hints import Hints
from handover.rules.model import Name
from handover.unit import guarded

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"  # a supervisor of every number, whatever `numbers` says


class Presence(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


# How many conversations one agent may hold at once: past this nobody can follow them all (and the console
# shows every one of them side by side).
MAX_CAPACITY = 50
MAX_NAME = 100


class Agent(BaseModel):
    id: str
    name: str = Field(min_length=1, max_length=MAX_NAME)
    queues: list[str]
    capacity: int = Field(ge=1, le=MAX_CAPACITY)
    # What push queues match a conversation on (assignment/suitability.py); empty for agents added before:
    # the customer languages they answer in (the rules' codes), and what they know, as the rules'
    # `escalate.skills` name it.
    languages: list[str] = Field(default_factory=list)
    skills: list[Name] = Field(default_factory=list)
    role: Role = Role.AGENT
    status: Presence = Presence.OFFLINE
    created_at: float
    # The business numbers (phone_number_ids) whose conversations this person serves or supervises; empty:
    # every number, as before numbers were scoped (a one-number deployment never sets it).
    numbers: list[str] = Field(default_factory=list)

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def serves(self, number: str) -> bool:
        """Whether this person may see a conversation of this business number at all (else: 404)."""
        return self.is_admin or not self.numbers or number in self.numbers


class UnknownAgent(Exception):
    pass


# How many tokens an AgentStore remembers the agent of (see `by_token`): a team's worth, many times over.
TOKENS_REMEMBERED = 10_000


def token_hash(token: str) -> str:
    """Tokens are stored only as their SHA-256: a leaked Redis dump does not let anyone sign in."""
    return hashlib.sha256(token.encode()).hexdigest()


class AgentStore:
    """Agents in Redis: a hash each, a set of ids, token hash -> id, and the set of what each holds."""

    def __init__(self, client: redis.Redis, clock: Clock = system_clock) -> None:
        self.client = client
        self.clock = clock
        # token hash -> the agent id it mapped to when last looked up: which hash to read alongside the
        # token's key, never trusted alone (see `by_token`)
        self.known_tokens = Hints(TOKENS_REMEMBERED)

    def add(
        self,
        name: str,
        queues: list[str],
        capacity: int,
        role: Role,
        by: str | None = None,
        *,
        languages: list[str] | None = None,
        skills: list[str] | None = None,
        numbers: list[str] | None = None,
    ) -> tuple[Agent, str]:
        """Create an agent; returns it with its token, which is shown once and never stored. `by`: who
        did it, audited in the same transaction. `numbers`: the business numbers they serve (none: every
        number)."""
        agent = Agent(
            id=f"ag_{uuid.uuid4().hex[:12]}",
            name=name,
            queues=queues,
            capacity=capacity,
            languages=languages or [],
            skills=skills or [],
            role=role,
            created_at=self.clock(),
            numbers=numbers or [],
        )
        token = f"hv_{secrets.token_urlsafe(32)}"
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.agent_key(agent.id), mapping={"json": agent.model_dump_json()})
            pipe.hset(keys.agent_key(agent.id), "token", token_hash(token))
            pipe.sadd(keys.AGENTS, agent.id)
            pipe.set(keys.agent_token_key(token_hash(token)), agent.id)
            if by is not None:
                detail = {"id": agent.id, "name": name, "role": str(role), "queues": queues}
                given = (("languages", languages), ("skills", skills), ("numbers", numbers))
                detail |= {k: v for k, v in given if v}
                audit.write(pipe, by, audit.AuditAction.AGENTS_ADD, detail)
            pipe.execute()
        return agent, token

    def get(self, agent_id: str) -> Agent:
        raw, status = self.client.hmget(keys.agent_key(agent_id), ["json", "status"])
        if raw is None:
            raise UnknownAgent(agent_id)
        return _agent(raw, status)

    def by_token(self, token: str) -> Agent | None:
        """The agent whose token this is, or None (an unknown token, or an agent no longer stored). Every
        desk request asks, so a token seen before costs one round trip: its key and the agent it mapped to
        are read together, and the agent is taken only if the key still maps to them (a removed agent's
        token key is gone and a reissued token maps elsewhere, so revocation stays immediate). Otherwise,
        and the first time, two: the key, then the agent it maps to."""
        digest = token_hash(token)
        token_key = keys.agent_token_key(digest)
        known = self.known_tokens.get(digest)
        if known is None:
            agent_id = self.client.get(token_key)
        else:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.get(token_key)
                pipe.hmget(keys.agent_key(known), ["json", "status"])
                agent_id, (raw, status) = pipe.execute()
            if agent_id is not None and keys.as_text(agent_id) == known:
                if raw is not None:
                    return _agent(raw, status)
                agent_id = None  # the token outlived its agent's hash: unknown, as below
            self.known_tokens.forget(digest)
        if agent_id is None:
            return None
        agent_id = keys.as_text(agent_id)
        try:
            agent = self.get(agent_id)
        except UnknownAgent:
            return None
        self.known_tokens.remember(digest, agent_id)
        return agent

    def all(self) -> list[Agent]:
        """Every agent, by name, read in one pipelined round trip after the set of ids."""
        ids = self.ids()
        with self.client.pipeline(transaction=False) as pipe:
            for agent_id in ids:
                pipe.hmget(keys.agent_key(agent_id), ["json", "status"])
            rows = pipe.execute()
        found = [_agent(raw, status) for raw, status in rows if raw is not None]
        return sorted(found, key=lambda a: a.name)

    def retire(self, agent_id: str, by: str | None = None) -> Agent:
        """Removing an agent, the first step (assignment/removal.py has them all), in one transaction: their
        token stops working, they are offline and out of the list of agents (nothing is offered or
        transferred to them, no presence sweep takes them), and every web process closes their streams
        (`agent_removed`). Their hash stays until what they held has moved on (`forget`): a removal cut
        short is finished by running it again. `by`: who did it, audited the first time. Returns the agent,
        offline; raises UnknownAgent."""
        key = keys.agent_key(agent_id)
        raw, status, digest = self.client.hmget(key, ["json", "status", "token"])
        if raw is None:
            raise UnknownAgent(agent_id)
        agent = _agent(raw, status)
        with self.client.pipeline(transaction=True) as pipe:
            if digest is not None:
                pipe.delete(keys.agent_token_key(keys.as_text(digest)))
                pipe.hdel(key, "token")
                if by is not None:
                    detail = {"id": agent_id, "name": agent.name}
                    audit.write(pipe, by, audit.AuditAction.AGENTS_REMOVE, detail)
            pipe.hset(key, "status", Presence.OFFLINE.value)
            pipe.srem(keys.AGENTS, agent_id)
            pipe.zrem(keys.AGENTS_LIVE, agent_id)
            if agent.status is not Presence.OFFLINE:
                offline = Presence.OFFLINE.value
                publish(pipe, "agent_status", "", agent_id=agent_id, status=offline, why="removed")
            publish(pipe, "agent_removed", "", agent_id=agent_id)
            pipe.execute()
        return agent.model_copy(update={"status": Presence.OFFLINE})

    def forget(self, agent_id: str) -> bool:
        """Removing an agent, the last step: what is left of them goes. False (nothing deleted) while they
        still hold a conversation or have one offered: those move on first."""
        held, offered = keys.agent_load_key(agent_id), keys.agent_offers_key(agent_id)
        try:
            with guarded(self.client, held, offered) as pipe:
                if pipe.scard(held) or pipe.scard(offered):
                    return False
                pipe.multi()
                pipe.delete(keys.agent_key(agent_id), held, offered)
                pipe.srem(keys.AGENTS, agent_id)
                pipe.zrem(keys.AGENTS_LIVE, agent_id)
                for memory in (keys.ROUTING_LAST, keys.ROUTING_FREED, keys.ROUTING_MISSED):
                    pipe.hdel(memory, agent_id)
        except redis.WatchError:
            return False
        return True

    def update(
        self,
        agent_id: str,
        *,
        capacity: int | None = None,
        queues: list[str] | None = None,
        languages: list[str] | None = None,
        skills: list[str] | None = None,
        numbers: list[str] | None = None,
        by: str | None = None,
    ) -> Agent:
        """Change what an agent takes (None: unchanged); returns the agent as now stored.

        One transaction writes the agent, its audit entry (`by`: who did it) and an `agent_status` event
        (why "updated", with their presence): an assigner hears that they may take more, or other work, at
        once. Raises UnknownAgent, or pydantic's ValidationError for a capacity out of bounds or a skill
        that is not a name."""
        given = {
            "capacity": capacity,
            "queues": queues,
            "languages": languages,
            "skills": skills,
            "numbers": numbers,  # [] (every number) is a change too
        }
        changes = {field: value for field, value in given.items() if value is not None}
        key = keys.agent_key(agent_id)
        while True:
            try:
                with guarded(self.client, key) as pipe:  # an update or a removal meanwhile: once more
                    raw, status = pipe.hmget(key, ["json", "status"])
                    if raw is None:
                        raise UnknownAgent(agent_id)
                    agent = Agent.model_validate({**_agent(raw, status).model_dump(), **changes})
                    pipe.multi()
                    pipe.hset(key, "json", agent.model_dump_json())
                    pipe.hincrby(key, "rev", 1)  # readers that keep agents know to read them again
                    if by is not None:
                        detail = {"id": agent_id, "name": agent.name, **changes}
                        audit.write(pipe, by, audit.AuditAction.AGENTS_SET, detail)
                    publish(
                        pipe, "agent_status", "", agent_id=agent_id, status=agent.status.value, why="updated"
                    )
                return agent
            except redis.WatchError:
                continue

    def set_status(self, agent_id: str, status: Presence, why: str = "set_by_agent") -> None:
        """Change presence and tell the desks (supervisors see it live)."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.agent_key(agent_id), "status", status.value)
            publish(pipe, "agent_status", "", agent_id=agent_id, status=status.value, why=why)
            pipe.execute()

    def ids(self) -> list[str]:
        """Every agent's id, sorted."""
        return sorted(keys.as_text(i) for i in self.client.smembers(keys.AGENTS))

    def load(self, agent_id: str) -> int:
        """How many conversations the agent holds now: what their capacity is checked against."""
        return int(self.client.scard(keys.agent_load_key(agent_id)))

    def loads(self, agent_ids: list[str]) -> dict[str, int]:
        """`load` of many agents in one pipelined round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for agent_id in agent_ids:
                pipe.scard(keys.agent_load_key(agent_id))
            counts = pipe.execute()
        return {agent_id: int(n) for agent_id, n in zip(agent_ids, counts, strict=True)}

    def held(self, agent_ids: list[str]) -> list[str]:
        """The ids of the conversations these agents hold now, in one pipelined round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for agent_id in agent_ids:
                pipe.smembers(keys.agent_load_key(agent_id))
            sets = pipe.execute()
        return [keys.as_text(c) for members in sets for c in sorted(members)]


async def numbers_served(client: AsyncRedis, agent_ids: list[str]) -> dict[str, list[str]]:
    """The business numbers each agent still stored serves ([]: every number, admins' too), in one round
    trip: the web process's event reader tells a person of some numbers of their colleagues only."""
    async with client.pipeline(transaction=False) as pipe:
        for agent_id in agent_ids:
            pipe.hget(keys.agent_key(agent_id), "json")
        found = await pipe.execute()
    served = {}
    for agent_id, raw in zip(agent_ids, found, strict=True):
        if raw is not None:
            agent = Agent.model_validate_json(raw)
            served[agent_id] = [] if agent.is_admin else agent.numbers
    return served


def _agent(raw: str | bytes, status: str | bytes | None) -> Agent:
    """An agent from its stored JSON, with the presence kept beside it (set apart, so it changes alone)."""
    agent = Agent.model_validate_json(raw)
    return agent.model_copy(update={"status": Presence(keys.as_text(status))}) if status else agent
