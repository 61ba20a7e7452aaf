"""The clocks on a conversation a person holds, as plain rules over its fields: how long the customer has
waited for the holding agent's answer (queues' `agent_reply_seconds`), and how long the customer has been
quiet since the agent last wrote (queues' `customer_idle`), both counted in the queue's business hours.

The fields they read are written by the customer's messages (`customer_wrote`, from traffic/processing.py)
and the agent's replies (`agent_replied`, from the desk's reply path, assignment/claims.py); the sweep that
acts on them is handover/clockwatch.py. Nothing here reads Redis; `agent_replied` queues two writes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from redis.client import Pipeline

from handover.conversation import Conversation, ConversationState
from handover.hours import spans
from handover.rules.model import Hours, Queue, Rules
from handover.store import Store

HELD = (ConversationState.ASSIGNED, ConversationState.TRANSFERRING)
# what the sweep reads of every held conversation, in one round trip (handover/clockwatch.py)
CLOCK_FIELDS = (
    "state",
    "queue",
    "agent_id",
    "assigned_at",
    "answered_at",
    "resolved_at",
    "customer_waiting_since",
    "agent_replied_at",
    "agent_silent_since",
    "idle_reminded_at",
)
LOOKBACK_DAYS = 60  # business hours are counted this far back at most: every clock is due long before


class Clocked(Protocol):
    """What the clocks read of a conversation: a Conversation, or the few fields the sweep reads."""

    @property
    def state(self) -> ConversationState: ...
    @property
    def assigned_at(self) -> float | None: ...
    @property
    def answered_at(self) -> float | None: ...
    @property
    def resolved_at(self) -> float | None: ...
    @property
    def customer_waiting_since(self) -> float | None: ...
    @property
    def agent_replied_at(self) -> float | None: ...
    @property
    def agent_silent_since(self) -> float | None: ...
    @property
    def idle_reminded_at(self) -> float | None: ...


class Due(StrEnum):
    """What a clock asks for now."""

    ALERT = "alert"  # the customer waited past agent_reply_seconds: tell the agent and supervisors, once
    REQUEUE = "requeue"  # ... past requeue_after_seconds: back to the queue, to someone else
    REMIND = "remind"  # the customer has been quiet past remind_after_minutes: one reminder
    CLOSE = "close"  # ... past close_after_minutes: resolved, reason customer_idle


# ---- the fields, as the customer and the agent write -------------------------------------------------


def customer_wrote(conversation: Conversation, now: float) -> None:
    """A customer message for a person (traffic/processing.py): the reply clock starts at the earliest
    one not answered yet, so writing "?" again does not restart it. One left over from before the
    conversation was last resolved is not waited on any more."""
    since, resolved = conversation.customer_waiting_since, conversation.resolved_at
    if since is None or (resolved is not None and since <= resolved):
        conversation.customer_waiting_since = now


def agent_replied(pipe: Pipeline, conversation: Conversation, now: float) -> None:
    """The holding agent wrote (text, template or file): the customer's wait ends, their quiet begins."""
    Store.mark(pipe, conversation.id, {"agent_replied_at": str(now)})
    Store.unmark(pipe, conversation.id, "customer_waiting_since", "agent_silent_since")


# ---- the clocks --------------------------------------------------------------------------------------


def reply_wait_start(c: Clocked) -> float | None:
    """Since when the customer waits for the holding agent's answer (None: they do not). A conversation
    just given to an agent (claimed, offer accepted, transferred in) waits for its first answer from then:
    the agent could not answer before. One reopened to the agent who resolved it (the customer wrote again
    soon after) waits from the customer's new message."""
    if c.state not in HELD or c.assigned_at is None:
        return None
    reopened = c.resolved_at is not None and c.resolved_at >= c.assigned_at
    if not reopened and (c.answered_at is None or c.answered_at < c.assigned_at):
        return c.assigned_at
    if c.customer_waiting_since is None:
        return None
    return max(c.customer_waiting_since, c.assigned_at)


def silent_since(c: Clocked) -> float | None:
    """When the unanswered stretch flagged `agent_silent` began, while it goes on (None: not flagged)."""
    start = reply_wait_start(c)
    return start if start is not None and c.agent_silent_since == start else None


def idle_since(c: Clocked) -> float | None:
    """Since when the customer has not answered the holding agent's last message (None: they did, or
    this agent has not written yet)."""
    if c.state not in HELD or c.agent_replied_at is None or c.customer_waiting_since is not None:
        return None
    if c.assigned_at is not None and c.agent_replied_at < c.assigned_at:
        return None  # written by whoever held it before: the new holder owes the next message
    return c.agent_replied_at


def due(c: Clocked, queue: Queue, hours: Hours | None, now: float) -> tuple[Due, float] | None:
    """What is due now, with the open seconds it has waited; None when nothing is."""
    start = reply_wait_start(c)
    if start is not None and queue.agent_reply_seconds is not None:
        waited = open_seconds(hours, start, now)
        requeue = queue.requeue_seconds
        if requeue is not None and waited >= requeue:
            return Due.REQUEUE, waited
        if waited >= queue.agent_reply_seconds and c.agent_silent_since != start:
            return Due.ALERT, waited
    quiet_from = idle_since(c)
    idle = queue.customer_idle
    if quiet_from is not None and idle is not None:
        quiet = open_seconds(hours, quiet_from, now)
        if quiet >= idle.close_after_minutes * 60:
            return Due.CLOSE, quiet
        reminded = c.idle_reminded_at is not None and c.idle_reminded_at >= quiet_from
        if idle.remind_after_minutes is not None and quiet >= idle.remind_after_minutes * 60 and not reminded:
            return Due.REMIND, quiet
    return None


def has_clocks(rules: Rules) -> bool:
    """Some queue has a clock: else the sweep reads nothing."""
    return any(
        q.agent_reply_seconds is not None or q.customer_idle is not None for q in rules.queues.values()
    )


def queue_hours(rules: Rules, queue: Queue) -> Hours | None:
    return rules.business_hours.get(queue.business_hours or "")


# ---- business hours ----------------------------------------------------------------------------------


def open_seconds(hours: Hours | None, start: float, end: float) -> float:
    """The seconds between `start` and `end` when the queue was open (all of them without hours): clocks
    pause while it is closed."""
    if end <= start:
        return 0.0
    if hours is None:
        return end - start
    start = max(start, end - LOOKBACK_DAYS * 86400)
    zone = ZoneInfo(hours.timezone)
    table = spans(hours)
    first = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)  # yesterday's overnight span
    last = datetime.fromtimestamp(end, zone).date()
    total, day = 0.0, first
    while day <= last:
        span = table.get(day.weekday())
        if span is not None:
            opens = datetime.combine(day, span[0], zone).timestamp()
            closes = _closing(day, span, zone)
            total += max(0.0, min(end, closes) - max(start, opens))
        day += timedelta(days=1)
    return total


def _closing(day: date, span: tuple[time, time], zone: ZoneInfo) -> float:
    """When a day's span closes: that night, at midnight for 24:00, or the next morning (overnight)."""
    if span[1] == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), zone).timestamp()
    if span[1] <= span[0]:
        return datetime.combine(day + timedelta(days=1), span[1], zone).timestamp()
    return datetime.combine(day, span[1], zone).timestamp()
