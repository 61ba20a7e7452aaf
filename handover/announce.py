"""Telling waiting customers where they stand again, only when the estimate changed meaningfully."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from handover.assignment.queues import Queues, RedisQueueView, note_told
from handover.clock import Clock, system_clock
from handover.conversation import ConversationState
from handover.hours import is_open
from handover.numbers import by_number, knowing
from handover.rules.loader import LoadedRules
from handover.rules.model import Priority
from handover.rules.texts import message
from handover.rules.turn import describe_wait
from handover.store import Store
from handover.traffic.enqueue import reply, text_request

log = structlog.get_logger(__name__)

MIN_INTERVAL_SECONDS = 300  # never more often than this to one customer


def announce_positions(
    store: Store,
    loaded: LoadedRules | Callable[..., LoadedRules],
    partitions: int,
    clock: Clock = system_clock,
    numbers: Callable[[], list[str]] | None = None,
) -> int:
    """Send `messages.queue_update` to waiting customers whose estimate changed since they were last told,
    at most every five minutes each, within the 24-hour window: in each business number's queues (`numbers`,
    by default those the webhook registered), by its rules (`loaded`: one for all, or the rules by number).
    Returns how many were told."""
    numbers = numbers or knowing(store.client)
    return sum(_announce(store, by_number(loaded, number), number, partitions, clock) for number in numbers())


def _announce(store: Store, loaded: LoadedRules, number: str, partitions: int, clock: Clock) -> int:
    rules = loaded.rules
    texts = rules.messages.get("queue_update")
    if texts is None:
        return 0
    now = clock()
    view = RedisQueueView(store.client, clock)
    queues = Queues(store.client, clock)
    told = 0
    for name, queue in rules.queues.items():
        if not is_open(rules.business_hours.get(queue.business_hours or ""), now):
            continue  # nobody is there to shorten the wait: the closing message said when people are back
        hours = rules.business_hours.get(queue.business_hours or "")
        typical = {p: view.typical_wait(number, name, p, hours, now) for p in Priority}
        waiting = queues.waiting(number, name)
        for position, (conversation_id, conversation) in enumerate(
            zip(waiting, store.conversations(waiting), strict=True), start=1
        ):
            if conversation is None or conversation.state != ConversationState.QUEUED:
                continue
            if not conversation.is_window_open(now):
                continue
            language = conversation.bot.language or rules.default_language
            priority = Priority(conversation.priority or Priority.NORMAL.value)
            wait = describe_wait(typical[priority], position, queue.sla_seconds, language)
            last = queues.last_told(conversation_id)
            if last.wait == wait or now - last.at < MIN_INTERVAL_SECONDS:
                continue
            text = message(rules, "queue_update", language, position=position, wait=wait)
            assert text is not None
            request = text_request(conversation, text)
            entry, job = reply(conversation, request, "bot", now, partitions)
            with store.client.pipeline(transaction=True) as pipe:
                store.queue_reply(pipe, conversation_id, entry, job)
                note_told(pipe, conversation_id, wait, now)
                pipe.execute()
            told += 1
            log.info(
                "queue_position_announced", conversation_id=conversation_id, queue=name, position=position
            )
    return told
