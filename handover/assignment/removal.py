"""Removing an agent in one step: their token dies and their streams close at once, what they held goes
back to its queue and what was offered to them goes on; a removal cut short finishes when run again."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from handover.agents import AgentStore
from handover.assignment.push import Assigner
from handover.errors import Conflict
from handover.warm import WarmTransfers

log = structlog.get_logger(__name__)

REASON = "agent_removed"  # in the packet's transfers and the `transferred` events of what they held
ATTEMPTS = 5  # each retry means one of their conversations changed while it was being moved


@dataclass
class Removal:
    """What a removal moved on: conversations back to their queues, push offers withdrawn from the agent,
    warm transfers offered to them handed back to the colleagues who offered them."""

    agent_id: str
    requeued: list[str] = field(default_factory=list)
    offers_withdrawn: int = 0
    transfers_handed_back: list[str] = field(default_factory=list)


class RemovalIncomplete(Exception):
    """Something of theirs kept changing while it was being moved: running the removal again finishes."""


def remove_agent(
    agents: AgentStore,
    transfers: WarmTransfers,
    assigner: Assigner,
    agent_id: str,
    by: str | None = None,
) -> Removal:
    """Remove an agent (`handover agents remove`).

    The order makes it safe to cut short and run again: first their token stops working, they go offline
    and every web process closes their streams (AgentStore.retire, one transaction); then push offers to
    them are withdrawn (why `unavailable`), warm transfers offered to them go back to whoever offered them,
    and what they held goes back to its queue ahead of newer conversations (reason `agent_removed`, also one
    they were offering a colleague); last, they are deleted, only once nothing is theirs any more.

    Args:
        agents: the agent store.
        transfers: cold and warm transfers (WarmTransfers does both).
        assigner: the push queues' assigner, whose offers to the agent are withdrawn.
        agent_id: who goes.
        by: who removes them, for the audit log.

    Raises UnknownAgent (no such agent, or removed already) or RemovalIncomplete."""
    agent = agents.retire(agent_id, by)
    done = Removal(agent_id)
    for _ in range(ATTEMPTS):
        done.offers_withdrawn += assigner.withdraw_all(agent_id, "unavailable")
        done.transfers_handed_back += transfers.withdraw_offers_to(agent_id, REASON)
        try:
            done.requeued += transfers.requeue_held(agent, reason=REASON)
        except Conflict:
            continue  # one changed meanwhile (a customer wrote): move what is left again
        if agents.forget(agent_id):
            log.info(
                "agent_removed",
                agent_id=agent_id,
                requeued=len(done.requeued),
                offers_withdrawn=done.offers_withdrawn,
                transfers_handed_back=len(done.transfers_handed_back),
            )
            return done
    raise RemovalIncomplete(f"{agent_id}: their conversations kept changing; run the removal again")
