"""Waiting conversations whose 24-hour window is closing: flagged first, abandoned when it closes."""

from __future__ import annotations

from collections.abc import Callable

import redis
import structlog

from handover import kpis
from handover.assignment.offers import OfferIndex
from handover.assignment.queues import Queues
from handover.clock import Clock, system_clock
from handover.conversation import ConversationState
from handover.events import publish
from handover.lifecycle import Event, Lifecycle
from handover.numbers import by_number, knowing
from handover.rules.loader import LoadedRules
from handover.store import Store

log = structlog.get_logger(__name__)

WINDOW_CLOSED = "window_closed"  # the abandonment's reason, and the withdrawn offer's why
FLAG_BEFORE_SECONDS = 2 * 3600  # agents are warned this long before nobody may write freely any more


def watch_windows(
    store: Store,
    loaded: LoadedRules | Callable[..., LoadedRules],
    clock: Clock = system_clock,
    numbers: Callable[[], list[str]] | None = None,
) -> tuple[int, int]:
    """Flag waiting conversations whose window closes soon; abandon those whose window has closed (after
    that only a template may reach the customer, and they stopped answering): in every business number's
    queues (`numbers`, by default those the webhook registered), as its rules (`loaded`: one for all, or
    the rules by number) list them. Returns (flagged, abandoned)."""
    now = clock()
    lifecycle = Lifecycle(store.client, clock)
    done = {"flagged": 0, "abandoned": 0}
    offered: dict[tuple[str, str], list[str]] = {}  # offered by the assigner: out of the queue while offered
    for conversation_id, _, number, queue in OfferIndex(store.client).due_push_offers(float("inf")):
        offered.setdefault((number, queue), []).append(conversation_id)
    for number in (numbers or knowing(store.client))():
        for name in by_number(loaded, number).rules.queues:
            for conversation_id in _due(store, number, name, offered.get((number, name), []), now):
                outcome = _watch_one(store, lifecycle, number, name, conversation_id, now)
                if outcome is not None:
                    done[outcome] += 1
    return done["flagged"], done["abandoned"]


def _due(store: Store, number: str, queue: str, offered: list[str], now: float) -> list[str]:
    """Who in the queue, or offered from it, has something due (a window closing soon or closed): read in
    one round trip, so only those few are looked at one by one."""
    waiting = Queues(store.client).waiting(number, queue) + offered
    due = []
    for conversation_id, (closes, flagged) in zip(waiting, store.windows(waiting), strict=True):
        if closes is not None and (closes <= now or (closes - now <= FLAG_BEFORE_SECONDS and not flagged)):
            due.append(conversation_id)
    return due


def _watch_one(
    store: Store, lifecycle: Lifecycle, number: str, queue: str, conversation_id: str, now: float
) -> str | None:
    with store.client.pipeline(transaction=True) as pipe:
        try:
            store.watch(
                pipe, conversation_id
            )  # an agent taking it meanwhile wins: nothing is abandoned under them
            conversation = store.conversation(conversation_id)
            if conversation is None or conversation.state != ConversationState.QUEUED:
                return None
            closes = conversation.window_expires_at
            if closes is None:
                return None
            if closes <= now:
                waited = kpis.waited(pipe, number, queue, conversation_id, now, conversation.updated_at)
                offered_to = conversation.offer_to  # the agent it was offered to sees the offer go
                events = [Event("abandoned", queue=queue)]
                if offered_to is not None:
                    events.append(
                        Event(
                            "offer_withdrawn", agent_id=offered_to, queue=queue, data={"why": WINDOW_CLOSED}
                        )
                    )
                pipe.multi()
                lifecycle.move(
                    pipe,
                    conversation,
                    ConversationState.ABANDONED,
                    now,
                    fields={"abandoned_at": str(now), "abandon_reason": WINDOW_CLOSED},
                    events=events,
                )
                kpis.abandoned(pipe, queue, WINDOW_CLOSED, waited, now)
                if offered_to is not None:
                    kpis.tally(pipe, "offers_withdrawn", now, agent_id=offered_to)
                pipe.execute()
                log.info("conversation_abandoned", conversation_id=conversation_id, queue=queue)
                return "abandoned"
            if closes - now <= FLAG_BEFORE_SECONDS and not conversation.window_closing_flagged:
                pipe.multi()
                Store.mark(pipe, conversation_id, {"window_closing_flagged": "true"})
                publish(pipe, "window_closing", conversation_id, queue=queue, closes_at=closes)
                pipe.execute()
                return "flagged"
            return None
        except redis.WatchError:
            return None  # changed meanwhile: the next pass looks again
