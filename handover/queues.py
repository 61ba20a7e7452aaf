"""Waiting queues in Redis: priority first, then the longest wait; positions and wait estimates."""

from __future__ import annotations

import statistics

import redis
from redis.client import Pipeline

from handover import keys
from handover.rules.model import Priority

PRIORITY_SPAN = 10**13  # milliseconds: each priority level sorts entirely before the next lower one


def queue_score(priority: Priority, enqueued_at: float) -> int:
    return (Priority.URGENT.weight - priority.weight) * PRIORITY_SPAN + int(enqueued_at * 1000)


def enqueued_at(score: float) -> float:
    """When a conversation joined its queue, from its score."""
    return (int(score) % PRIORITY_SPAN) / 1000


def enqueue(pipe: Pipeline, queue: str, conversation_id: str, priority: Priority, at: float) -> None:
    """Put a conversation in exactly one queue (any earlier place is removed by the caller's state change)."""
    pipe.zadd(keys.queue_key(queue), {conversation_id: queue_score(priority, at)})


class RedisQueueView:
    """Where a newcomer would stand, and how long people recently waited."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def position(self, queue: str, priority: Priority, at: float) -> int:
        ahead = self.client.zcount(keys.queue_key(queue), "-inf", queue_score(priority, at))
        return int(ahead) + 1

    def typical_wait(self, queue: str) -> float | None:
        recent = [float(w) for w in self.client.lrange(keys.queue_waits_key(queue), 0, 19)]
        return statistics.median(recent) if recent else None
