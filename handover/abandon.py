"""Waiting conversations whose 24-hour window is closing: flagged first, abandoned when it closes."""

from __future__ import annotations

import time

import structlog

from handover import keys
from handover.conversation import ConversationState
from handover.events import publish
from handover.rules.loader import LoadedRules
from handover.store import Store

log = structlog.get_logger(__name__)

FLAG_BEFORE_SECONDS = 2 * 3600  # agents are warned this long before nobody may write freely any more


def watch_windows(store: Store, loaded: LoadedRules, now: float | None = None) -> tuple[int, int]:
    """Flag waiting conversations whose window closes soon; abandon those whose window has closed (after
    that only a template may reach the customer, and they stopped answering). Returns (flagged, abandoned)."""
    now = time.time() if now is None else now
    flagged = abandoned = 0
    for name in loaded.rules.queues:
        for raw in store.client.zrange(keys.queue_key(name), 0, -1):
            conversation_id = keys.as_text(raw)
            conversation = store.conversation(conversation_id)
            if conversation is None or conversation.state != ConversationState.QUEUED:
                continue
            closes = conversation.window_expires_at
            if closes is None:
                continue
            key = keys.conversation_key(conversation_id)
            with store.client.pipeline(transaction=True) as pipe:
                if closes <= now:
                    pipe.zrem(keys.queue_key(name), conversation_id)
                    pipe.hset(
                        key,
                        mapping={
                            "state": ConversationState.ABANDONED.value,
                            "updated_at": str(now),
                            "abandoned_at": str(now),
                        },
                    )
                    publish(pipe, "abandoned", conversation_id, queue=name)
                    Store.count(pipe, "abandoned")
                    abandoned += 1
                    log.info("conversation_abandoned", conversation_id=conversation_id, queue=name)
                elif closes - now <= FLAG_BEFORE_SECONDS and not conversation.window_closing_flagged:
                    pipe.hset(key, "window_closing_flagged", "true")
                    publish(pipe, "window_closing", conversation_id, queue=name, closes_at=closes)
                    flagged += 1
                else:
                    continue
                pipe.execute()
    return flagged, abandoned
