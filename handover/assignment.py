"""Automatic assignment for push queues: who gets which waiting conversation, decided the moment either side
is ready, one atomic script per decision.

`dispatch` reads the agents and the heads of the push queues, then walks the waiting conversations oldest
first within priority (across queues, as agents' claims do) and gives each to the best suitable agent
(`handover/suitability.py`: sticky, language, skills, then the queue's policy). Each decision is written by
`Lifecycle.assign` (handover/lua/assign.lua), which checks again where it writes that the conversation still
waits and the agent is available, below capacity and not skipped: the snapshot read here can only make a
decision worse, never wrong. Nothing here runs on a timer except offers' timeouts: workers/assigner.py
calls `dispatch` when the desk events say that something waits or someone is free.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import redis

from handover import keys, lua
from handover.agents import Agent, Presence
from handover.clock import Clock, system_clock
from handover.lifecycle import Decided, Lifecycle
from handover.rules.loader import LoadedRules
from handover.rules.model import Queue
from handover.suitability import Candidate, Want, rank

HEADS = 20  # waiting conversations read per push queue and round
MAX_PASSED = 200  # per queue and dispatch: conversations nobody suitable is free for (required matches)
MAX_ROUNDS = 50  # rounds of one dispatch; each assigns at least one conversation or ends it


@dataclass(frozen=True)
class Waiting:
    conversation_id: str
    queue: str
    score: float


class Assigner:
    def __init__(
        self, client: redis.Redis, rules: Callable[[], LoadedRules], clock: Clock = system_clock
    ) -> None:
        self.client = client
        self.rules = rules
        self.clock = clock
        self.lifecycle = Lifecycle(client, clock)
        self._snapshot = lua.script(client, "agents_snapshot")
        self._agents: dict[bytes | str, Agent] = {}  # parsed agent JSON by its raw text: agents change rarely

    def push_queues(self) -> dict[str, Queue]:
        return {name: q for name, q in self.rules().rules.queues.items() if q.pushes}

    def dispatch(self, now: float | None = None) -> int:
        """Give waiting conversations of push queues to suitable free agents until one side runs out.
        Returns how many decisions (assignments and offers) it made."""
        now = self.clock() if now is None else now
        push = self.push_queues()
        if not push:
            return 0
        agents = self.candidates(now)
        passed: set[str] = set()
        decided = 0
        for _ in range(MAX_ROUNDS):
            free = [a for a in agents.values() if a.available and a.load < a.capacity]
            room = {name: sum(a.capacity - a.load for a in free if name in a.queues) for name in push}
            waiting = self._heads({name: n for name, n in room.items() if n}, passed)
            if not waiting:
                break
            wants = self._wants(waiting)
            progress = False
            for item in waiting:
                want = wants.get(item.conversation_id)
                if want is None:
                    continue
                queue = push[item.queue]
                free = [a for a in agents.values() if a.available and a.load < a.capacity]
                ranked = rank(want, free, queue.policy, queue.match)
                if not ranked:
                    passed.add(item.conversation_id)
                    continue
                for agent_id in ranked:
                    agent = agents[agent_id]
                    outcome = self.lifecycle.assign(
                        item.conversation_id, item.queue, agent_id, agent.capacity,
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
            if not progress:
                break
        return decided

    def candidates(self, now: float) -> dict[str, Candidate]:
        """Every agent as the scoring sees them: their ids, then one script call (lua/agents_snapshot.lua)."""
        ids = sorted(keys.as_text(i) for i in self.client.smembers(keys.AGENTS))
        snapshot = json.loads(
            self._snapshot(
                keys=[
                    keys.ROUTING_LAST,
                    keys.ROUTING_FREED,
                    keys.assigned_today_key(int(now // 86400)),
                    *(
                        key
                        for agent_id in ids
                        for key in (
                            keys.agent_key(agent_id),
                            keys.agent_load_key(agent_id),
                            keys.agent_offers_key(agent_id),
                        )
                    ),
                ]
            )
        )
        last_given, freed, today = snapshot["last"] or {}, snapshot["freed"] or {}, snapshot["today"] or {}
        found: dict[str, Candidate] = {}
        for agent_id, (raw, status, held, offered) in zip(ids, snapshot["agents"] or [], strict=True):
            if not raw:
                continue  # removed meanwhile
            agent = self._agent(raw)
            last = float(last_given.get(agent_id, 0.0))
            found[agent_id] = Candidate(
                id=agent_id,
                available=status == Presence.AVAILABLE.value,
                load=int(held) + int(offered),
                capacity=agent.capacity,
                queues=frozenset(agent.queues),
                languages=frozenset(agent.languages),
                skills=frozenset(agent.skills),
                idle_since=max(last, float(freed.get(agent_id, 0.0))),
                assigned=int(today.get(agent_id, 0)),
                last_assigned_at=last,
            )
        return found

    def _agent(self, raw: bytes | str) -> Agent:
        agent = self._agents.get(raw)
        if agent is None:
            if len(self._agents) > 10_000:
                self._agents.clear()
            agent = self._agents[raw] = Agent.model_validate_json(raw)
        return agent

    def _heads(self, room: dict[str, int], passed: set[str]) -> list[Waiting]:
        """The first waiting conversations of each queue with room for more (as many as there are places,
        and a few more in case some need a match nobody free has), not passed over yet, best first across
        queues (lowest score: priority, then how long it has waited)."""
        if not room:
            return []
        skipped = min(len(passed), MAX_PASSED)
        with self.client.pipeline(transaction=False) as pipe:
            for name, places in room.items():
                pipe.zrange(keys.queue_key(name), 0, min(HEADS, places + 4) + skipped - 1, withscores=True)
            replies = pipe.execute()
        waiting = [
            Waiting(keys.as_text(member), name, float(score))
            for name, entries in zip(room, replies, strict=True)
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
            )
        return wants

    def expire(self, now: float | None = None) -> int:
        """Offers nobody accepted in time go on: back to their place, the agent skipped for them."""
        now = self.clock() if now is None else now
        push = self.push_queues()
        expired = 0
        for conversation_id, agent_id, queue in self.lifecycle.due_push_offers(now):
            away_after = push[queue].away_after_missed_offers if queue in push else 3
            done, _ = self.lifecycle.withdraw_offer(
                conversation_id, agent_id or "", "timeout", away_after, now
            )
            expired += done
        return expired

    def withdraw_all(self, agent_id: str, why: str, now: float | None = None) -> int:
        """The agent left (away, offline, removed): what was offered to them goes on at once."""
        now = self.clock() if now is None else now
        return sum(
            self.lifecycle.withdraw_offer(c, agent_id, why, 0, now)[0]
            for c in self.lifecycle.offers_to(agent_id)
        )

    def decline(self, agent_id: str, conversation_id: str, now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        return self.lifecycle.withdraw_offer(conversation_id, agent_id, "declined", 0, now)[0]

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
