"""What an agent's desk lists: the conversations they hold, those waiting in their queues and those offered
to them; a supervisor sees every held and waiting one. Read in a fixed number of pipelined round trips,
however many conversations there are."""

from __future__ import annotations

from collections.abc import Callable

from handover.agents import Agent, AgentStore
from handover.conversation import Conversation
from handover.lifecycle import Lifecycle
from handover.queues import Queues
from handover.rules.loader import LoadedRules
from handover.store import Store


class Inbox:
    def __init__(self, store: Store, agents: AgentStore, rules: Callable[[], LoadedRules]) -> None:
        self.store = store
        self.agents = agents
        self.queues = Queues(store.client)
        self.lifecycle = Lifecycle(store.client)
        self.rules = rules

    def visible_to(self, agent: Agent) -> list[Conversation]:
        """The agent's list, oldest change first: held and waiting ones, and warm transfers offered to them
        (offers are few: they last minutes, so every one is read and those for others dropped)."""
        if agent.is_supervisor:
            holders = self.agents.ids()
            queue_names = list(self.rules().rules.queues)
        else:
            holders, queue_names = [agent.id], agent.queues
        listed = set(self.agents.held(holders)) | set(self.queues.waiting_in(queue_names))
        offered = self.lifecycle.offered()
        ids = sorted(listed) + [i for i in offered if i not in listed]
        found = self.store.conversations(ids)
        return sorted(
            (c for c in found if c is not None and (c.id in listed or c.offer_to == agent.id)),
            key=lambda c: c.updated_at,
        )
