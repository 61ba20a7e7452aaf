"""Telling waiting customers where they stand again, only when the estimate changed meaningfully."""

from __future__ import annotations

import time

import structlog
from redis.client import Pipeline

from handover import keys
from handover.conversation import ConversationState
from handover.enqueue import queue_send, reply, text_request
from handover.hours import is_open
from handover.queues import RedisQueueView
from handover.rules.loader import LoadedRules
from handover.rules.texts import message
from handover.rules.turn import describe_wait
from handover.store import Store

log = structlog.get_logger(__name__)

MIN_INTERVAL_SECONDS = 300  # never more often than this to one customer


def note_announced(pipe: Pipeline, conversation_id: str, wait: str, at: float) -> None:
    """Remember what a customer was last told (the escalation message counts)."""
    pipe.hset(keys.announced_key(conversation_id), mapping={"wait": wait, "at": at})


def announce_positions(store: Store, loaded: LoadedRules, partitions: int, now: float | None = None) -> int:
    """Send `messages.queue_update` to waiting customers whose estimate changed since they were last told,
    at most every five minutes each, within the 24-hour window. Returns how many were told."""
    rules = loaded.rules
    texts = rules.messages.get("queue_update")
    if texts is None:
        return 0
    now = time.time() if now is None else now
    view = RedisQueueView(store.client)
    told = 0
    for name, queue in rules.queues.items():
        if not is_open(rules.business_hours.get(queue.business_hours or ""), now):
            continue  # nobody is there to shorten the wait: the closing message said when people are back
        typical = view.typical_wait(name)
        waiting = [keys.as_text(c) for c in store.client.zrange(keys.queue_key(name), 0, -1)]
        for position, conversation_id in enumerate(waiting, start=1):
            conversation = store.conversation(conversation_id)
            if conversation is None or conversation.state != ConversationState.QUEUED:
                continue
            if not conversation.is_window_open(now):
                continue
            language = conversation.bot.language or rules.default_language
            wait = describe_wait(typical, position, queue.sla_seconds, language)
            last = {
                keys.as_text(k): keys.as_text(v)
                for k, v in store.client.hgetall(keys.announced_key(conversation_id)).items()
            }
            if last.get("wait") == wait or now - float(last.get("at", 0)) < MIN_INTERVAL_SECONDS:
                continue
            text = message(rules, "queue_update", language, position=position, wait=wait)
            assert text is not None
            request = text_request(conversation, text)
            entry, job = reply(conversation, request, "bot", now, partitions)
            with store.client.pipeline(transaction=True) as pipe:
                # only the counter: the inbound drainer may be writing this conversation right now
                pipe.hincrby(keys.conversation_key(conversation_id), "messages_out", 1)
                store.append_entry(pipe, conversation_id, entry)
                queue_send(pipe, job)
                note_announced(pipe, conversation_id, wait, now)
                pipe.execute()
            told += 1
            log.info(
                "queue_position_announced", conversation_id=conversation_id, queue=name, position=position
            )
    return told
