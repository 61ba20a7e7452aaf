"""Automatic assignment for push queues: who gets which waiting conversation, decided the moment either side
is ready, one atomic script per decision.

`dispatch` reads the agents and the heads of the push queues of every business number (each number's rules
say which of its queues push), then walks the waiting conversations oldest first within priority (across
queues and numbers, as agents' claims do) and gives each to the best suitable agent among those serving
its number
(`suitability.py`: sticky, language, skills, then the queue's policy). Each decision is written by
`Lifecycle.assign` (handover/lua/assign.lua), which checks again where it writes that the conversation still
waits and the agent is available, below capacity and not skipped: the snapshot read here can only make a
decision worse, never wrong. An agent of several numbers is one person with one capacity: what they hold
and were offered, of every number, counts against it (their load sets are per agent). Nothing here runs
on a timer except offers' timeouts: workers/assigner.py calls `dispatch` when the desk events say that
something waits or someone is free.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import redis

from handover import keys, kpis, lua
from handover.agents import Agent, Presence
from handover.assignment.offers import OfferIndex
from handover.assignment.suitability import Candidate, Want, rank
from handover.clock import Clock, system_clock
from handover.lifecycle import Decided, Lifecycle
from handover.numbers import knowing
from handover.rules.loader import LoadedRules
from handover.rules.model import MatchMode, Queue

HEADS = 20  # waiting conversations read per push queue and round, at most
REQUIRED_EXTRA = 4  # ... and beyond its free places, where a queue requires a match
MAX_PASSED = 200  # per queue and dispatch: conversations nobody suitable is free for (required matches)
MAX_ROUNDS = 50  # rounds of one dispatch; each assigns at least one conversation or ends it


@dataclass(frozen=True)
class _Known:
    """What the scoring needs of an agent's settings, kept between dispatches."""

    rev: str
    supervisor: bool  # supervisors watch the desk: push queues offer them nothing (they can take next)
    capacity: int
    queues: frozenset[str]
    languages: frozenset[str]
    skills: frozenset[str]
    numbers: frozenset[str]  # empty: every number

    @classmethod
    def of(cls, rev: str, agent: Agent) -> _Known:
        return cls(
            rev,
            agent.is_supervisor,
            agent.capacity,
            frozenset(agent.queues),
            frozenset(agent.languages),
            frozenset(agent.skills),
            frozenset(agent.numbers),
        )


@dataclass(frozen=True)
class Waiting:
    conversation_id: str
    number: str
    queue: str
    score: float


Pushing = dict[tuple[str, str], Queue]  # (number, queue name) -> the queue as that number's rules say


class Assigner:
    """`rules`: called with a number, its rules (a Rulebook); `numbers`: every business number whose push
    queues it serves (handover/numbers.py `knowing`; by default those the webhook registered)."""

    def __init__(
        self,
        client: redis.Redis,
        rules: Callable[..., LoadedRules],
        clock: Clock = system_clock,
        numbers: Callable[[], list[str]] | None = None,
    ) -> None:
        self.client = client
        self.rules = rules
        self.clock = clock
        self.numbers = numbers or knowing(client)
        self.lifecycle = Lifecycle(client, clock, lambda number: kpis.slas_of(self.rules(number).rules))
        self.offers = OfferIndex(client)
        self._snapshot = lua.script(client, "agents_snapshot")
        # the agents as last read: their ids, and each one's settings with their revision (they change
        # rarely: the snapshot sends an agent's JSON only when its revision is not the one known here)
        self._ids: list[str] = []
        self._known: dict[str, _Known] = {}

    def push_queues(self) -> Pushing:
        """Every number's push queues, by (number, queue name)."""
        return {
            (number, name): q
            for number in self.numbers()
            for name, q in self.rules(number).rules.queues.items()
            if q.pushes
        }

    def versions(self) -> str:
        """The rules versions of every number, in one string: when it changes, a queue may push now."""
        return " ".join(self.rules(number).version for number in [None, *self.numbers()])

    def dispatch(self) -> int:
        """Give waiting conversations of push queues to suitable free agents until one side runs out.
        Returns how many decisions (assignments and offers) it made."""
        now = self.clock()
        push = self.push_queues()
        if not push:
            return 0
        agents = self.candidates(now)
        passed: set[str] = set()
        decided = 0
        for _ in range(MAX_ROUNDS):
            free = [a for a in agents.values() if a.available and a.load < a.capacity]
            room = {
                (number, name): sum(
                    a.capacity - a.load for a in free if name in a.queues and a.serves(number)
                )
                for number, name in push
            }
            waiting = self._heads({pair: n for pair, n in room.items() if n}, push, passed)
            if not waiting:
                break
            wants = self._wants(waiting)
            progress, passed_before = False, len(passed)
            for item in waiting:
                want = wants.get(item.conversation_id)
                if want is None:  # stopped waiting since the heads were read: look behind it
                    passed.add(item.conversation_id)
                    continue
                queue = push[(item.number, item.queue)]
                free = [a for a in agents.values() if a.available and a.load < a.capacity]
                ranked = rank(want, free, queue.policy, queue.match)
                if not ranked:
                    passed.add(item.conversation_id)
                    continue
                for agent_id in ranked:
                    agent = agents[agent_id]
                    outcome = self.lifecycle.assign(
                        item.conversation_id, item.number, item.queue, agent_id, agent.capacity,
                        queue.offer_timeout_seconds, now,
                    )  # fmt: skip
                    if outcome in (Decided.ASSIGNED, Decided.OFFERED):
                        agents[agent_id] = replace(
                            agent,
                            load=agent.load + 1,
                            assigned=agent.assigned + 1,
                            last_assigned_at=now,
                            idle_since=now,
                        )
                        decided += 1
                        progress = True
                        break
                    if outcome is Decided.GONE:
                        break
                    agents[agent_id] = replace(agent, available=False)  # the snapshot was stale
            if not progress and len(passed) == passed_before:
                break  # (a round that only passed some over reads the ones behind them next)
        return decided

    def candidates(self, now: float) -> dict[str, Candidate]:
        """Every agent as the scoring sees them, in one script call (lua/agents_snapshot.lua; two when the
        agents changed), their JSON parsed only when it changed."""
        snapshot = self._read_snapshot(now)
        if "ids" in snapshot:  # someone was added or removed: read again with their keys
            self._ids = sorted(snapshot["ids"] or [])
            snapshot = self._read_snapshot(now)
        last_given, freed, today = snapshot["last"] or {}, snapshot["freed"] or {}, snapshot["today"] or {}
        found: dict[str, Candidate] = {}
        for agent_id, (rev, raw, status, held, offered) in zip(
            self._ids, snapshot["agents"] or [], strict=True
        ):
            if not rev:
                self._known.pop(agent_id, None)
                continue  # removed meanwhile
            if raw:
                self._known[agent_id] = _Known.of(rev, Agent.model_validate_json(raw))
            known = self._known[agent_id]
            last = float(last_given.get(agent_id, 0.0))
            found[agent_id] = Candidate(
                id=agent_id,
                available=status == Presence.AVAILABLE.value and not known.supervisor,
                load=int(held) + int(offered),
                capacity=known.capacity,
                queues=known.queues,
                languages=known.languages,
                skills=known.skills,
                idle_since=max(last, float(freed.get(agent_id, 0.0))),
                assigned=int(today.get(agent_id, 0)),
                last_assigned_at=last,
                numbers=known.numbers,
            )
        return found

    def _read_snapshot(self, now: float) -> dict[str, Any]:
        known = [self._known[a].rev if a in self._known else "" for a in self._ids]
        reply = self._snapshot(
            keys=[
                keys.AGENTS,
                keys.ROUTING_LAST,
                keys.ROUTING_FREED,
                keys.assigned_today_key(int(now // 86400)),
                *(
                    key
                    for agent_id in self._ids
                    for key in (
                        keys.agent_key(agent_id),
                        keys.agent_load_key(agent_id),
                        keys.agent_offers_key(agent_id),
                    )
                ),
            ],
            args=[",".join(self._ids), *known],
        )
        snapshot: dict[str, Any] = json.loads(reply)
        return snapshot

    def _heads(self, room: dict[tuple[str, str], int], push: Pushing, passed: set[str]) -> list[Waiting]:
        """The first waiting conversations of each queue with room for more, not passed over yet, best first
        across queues (lowest score: priority, then how long it has waited): as many as there are places,
        and a few more where the queue requires a match (some may need one nobody free has)."""
        if not room:
            return []
        skipped = min(len(passed), MAX_PASSED)
        with self.client.pipeline(transaction=False) as pipe:
            for (number, name), places in room.items():
                match = push[(number, name)].match
                extra = REQUIRED_EXTRA if MatchMode.REQUIRED in (match.language, match.skills) else 0
                count = min(HEADS, places + extra) + skipped
                pipe.zrange(keys.queue_key(number, name), 0, count - 1, withscores=True)
            replies = pipe.execute()
        waiting = [
            Waiting(keys.as_text(member), number, name, float(score))
            for (number, name), entries in zip(room, replies, strict=True)
            for member, score in entries
            if keys.as_text(member) not in passed
        ]
        return sorted(waiting, key=lambda w: w.score)

    def _wants(self, waiting: list[Waiting]) -> dict[str, Want]:
        """What each conversation asks of an agent; those that stopped waiting meanwhile are left out."""
        with self.client.pipeline(transaction=False) as pipe:
            for item in waiting:
                pipe.hmget(
                    keys.conversation_key(item.conversation_id),
                    ["state", "bot", "skills", "previous_agent"],
                )
                pipe.smembers(keys.skip_key(item.conversation_id))
            replies = pipe.execute()
        wants: dict[str, Want] = {}
        for n, item in enumerate(waiting):
            (state, bot, skills, previous), skip = replies[2 * n], replies[2 * n + 1]
            if keys.as_text(state or "") != "queued":
                continue
            wants[item.conversation_id] = Want(
                queue=item.queue,
                language=_language(bot),
                skills=frozenset(json.loads(skills) if skills else ()),
                previous_agent=keys.as_text(previous) if previous else None,
                skip=frozenset(keys.as_text(s) for s in skip),
                number=item.number,
            )
        return wants

    def expire(self) -> int:
        """Offers nobody accepted in time go on: back to their place, the agent skipped for them."""
        now = self.clock()
        push = self.push_queues()
        expired = 0
        for conversation_id, agent_id, number, queue in self.offers.due_push_offers(now):
            spec = push.get((number, queue))
            away_after = spec.away_after_missed_offers if spec is not None else 3
            done, _ = self.lifecycle.withdraw_offer(
                conversation_id, agent_id or "", "timeout", away_after, now
            )
            expired += done
        return expired

    def withdraw_all(self, agent_id: str, why: str) -> int:
        """The agent left (away, offline, removed): what was offered to them goes on at once."""
        now = self.clock()
        return sum(
            self.lifecycle.withdraw_offer(c, agent_id, why, 0, now)[0]
            for c in self.offers.offers_to(agent_id)
        )

    def note_freed(self, agent_ids: Iterable[str], now: float) -> None:
        """When agents last had capacity given back or came back (longest_idle counts from the later of this
        and their last assignment)."""
        mapping = {a: now for a in agent_ids}
        if mapping:
            self.client.hset(keys.ROUTING_FREED, mapping=mapping)


def _language(bot: bytes | str | None) -> str | None:
    if not bot:
        return None
    language = json.loads(bot).get("language")
    return language if isinstance(language, str) else None
