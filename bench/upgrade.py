"""The cost of `handover upgrade` moving the old queues (one `hv:queue:<name>` for every number) into each
number's own, at 10,000 waiting conversations of two numbers in four queues, on a real redis-server.

    python -m bench.upgrade [--waiting 10000]

Seeds the old layout (each conversation's hash as the Store writes it, its place in the old queue and the
old activity index, and a full waits list per queue), then times `upgrades.queues_per_number` and a second
run (the marker: a no-op)."""

from __future__ import annotations

import argparse
import time

import redis

from handover import keys, upgrades
from handover.assignment.queues import queue_score
from handover.conversation import Conversation, ConversationState
from handover.message import CustomerRef
from handover.rules.model import Priority
from handover.store import Store
from tests.support.redis_server import RedisServer

NUMBERS = ("1000000000001", "2000000000002")
QUEUES = ("general", "billing", "retention", "senior")
NOW = 1_800_000_000.0


def seed_old_layout(client: redis.Redis, waiting: int) -> None:
    store = Store(client)
    with client.pipeline(transaction=False) as pipe:
        for n in range(waiting):
            number, queue, at = NUMBERS[n % 2], QUEUES[n % len(QUEUES)], NOW - waiting + n
            customer = CustomerRef(phone_number_id=number, wa_id=f"55119{n:08d}", profile_name="Cliente")
            conversation = Conversation.start(customer, at - 60)
            conversation.note_customer_message(customer, at - 60, at - 60)
            conversation.state, conversation.queue, conversation.priority = (
                ConversationState.QUEUED,
                queue,
                "normal",
            )
            store.save_conversation(pipe, conversation)
            pipe.zadd(keys.old_queue_key(queue), {conversation.id: queue_score(Priority.NORMAL, at)})
            pipe.zadd(keys.old_activity_waiting_key(queue), {conversation.id: at})
            if n % 1000 == 999:
                pipe.execute()
        for queue in QUEUES:
            pipe.lpush(
                keys.old_queue_waits_key(queue), *(f"60.000 {NOW - 600 + i:.3f} 2" for i in range(200))
            )
        pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=10_000)
    waiting = parser.parse_args().waiting
    server = RedisServer().start()
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        seed_old_layout(client, waiting)
        started = time.perf_counter()
        moved = upgrades.queues_per_number(client)
        took = time.perf_counter() - started
        started = time.perf_counter()
        again = upgrades.queues_per_number(client)
        second = time.perf_counter() - started
        left = sum(client.exists(keys.old_queue_key(q), keys.old_activity_waiting_key(q)) for q in QUEUES)
        print(f"{waiting} waiting conversations, {len(NUMBERS)} numbers, {len(QUEUES)} queues")
        print(f"  {moved}")
        print(f"  upgrade: {took * 1000:.0f} ms ({took / max(waiting, 1) * 1e6:.1f} µs a conversation)")
        print(f"  run again: {second * 1000:.2f} ms ({'done before' if again.already else 'NOT a no-op'})")
        print(f"  old keys left: {left}")
        client.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
