"""Which agents suit a waiting conversation, best first: push queues' scoring, pure (no Redis, no clock).

The assigner reads what it needs (agents, their loads, the conversation's routing fields) and asks `rank`;
one atomic script then offers the conversation to the first agent that is still free. Keeping the decision
here, apart from how it is stored, lets it be read and tested as a table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from handover.rules.model import MatchMode, Policy, QueueMatch


@dataclass(frozen=True)
class Candidate:
    """An agent as the assigner sees them at the moment of the decision."""

    id: str
    available: bool
    load: int  # conversations held now + offers pending to them
    capacity: int
    queues: frozenset[str]
    languages: frozenset[str]
    skills: frozenset[str]
    idle_since: float  # since when they have had no new conversation (longest_idle: smallest first)
    assigned: int  # conversations given to them in the fairness window (least_loaded tie-break)
    last_assigned_at: float  # round_robin: the least recently given first (0 = never)
    numbers: frozenset[str] = frozenset()  # the business numbers they serve (empty: every number)

    def serves(self, number: str | None) -> bool:
        """Whether they take conversations of this business number (None: any number's will do)."""
        return number is None or not self.numbers or number in self.numbers


@dataclass(frozen=True)
class Want:
    """What a waiting conversation asks of its agent."""

    queue: str
    language: str | None  # the customer's language (None: anyone matches)
    skills: frozenset[str]  # what the escalating rule asks for
    previous_agent: str | None  # who served this customer last (sticky)
    skip: frozenset[str] = frozenset()  # agents who declined or let an offer for this conversation expire
    number: str | None = None  # the business number it came to (None: any agent's numbers will do)


def is_suitable(want: Want, agent: Candidate, match: QueueMatch) -> bool:
    """Free to take it now (available, below capacity, serving its number, in the queue, not skipped) and,
    where the queue requires it, speaking the customer's language and having every skill asked for."""
    if not agent.available or agent.load >= agent.capacity:
        return False
    if not agent.serves(want.number):
        return False
    if want.queue not in agent.queues or agent.id in want.skip:
        return False
    if match.language is MatchMode.REQUIRED and not _speaks(want, agent):
        return False
    return match.skills is not MatchMode.REQUIRED or want.skills <= agent.skills


def rank(want: Want, agents: Iterable[Candidate], policy: Policy, match: QueueMatch) -> list[str]:
    """Suitable agents' ids, best first.

    In this order: the agent who served the customer last (sticky); those who speak the customer's
    language; those with more of the skills asked for; then the queue's policy; finally the id, so the
    answer never depends on the order agents were read in.
    """
    by_policy = _POLICY[policy]
    suitable = [agent for agent in agents if is_suitable(want, agent, match)]
    suitable.sort(
        key=lambda agent: (
            agent.id != want.previous_agent,
            not _speaks(want, agent),
            len(want.skills - agent.skills),
            *by_policy(agent),
            agent.id,
        )
    )
    return [agent.id for agent in suitable]


def _speaks(want: Want, agent: Candidate) -> bool:
    return want.language is None or want.language in agent.languages


# Each policy's order among agents equally suited otherwise, smallest first.
_POLICY: dict[Policy, Callable[[Candidate], tuple[float, ...]]] = {
    Policy.LONGEST_IDLE: lambda agent: (agent.idle_since,),
    Policy.LEAST_LOADED: lambda agent: (agent.load, agent.assigned, agent.idle_since),
    Policy.ROUND_ROBIN: lambda agent: (agent.last_assigned_at,),
}
