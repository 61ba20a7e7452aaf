"""Waiting conversations whose 24-hour window closes: flagged two hours before, abandoned when it closes."""

from __future__ import annotations

from pathlib import Path

import fakeredis

from handover import keys
from handover.abandon import watch_windows
from handover.assignment.queues import enqueue
from handover.clock import FixedClock
from handover.conversation import Conversation, ConversationState
from handover.message import CustomerRef
from handover.numbers import register
from handover.rules.loader import load_rules
from handover.rules.model import Priority
from handover.store import Store

RULES = load_rules(Path(__file__).resolve().parents[2] / "config" / "rules.yaml")
T0 = 1_800_000_000.0


def waiting(store: Store, wa_id: str, last_message_at: float) -> str:
    customer = CustomerRef(phone_number_id="PN", wa_id=wa_id)
    conversation = Conversation.start(customer, last_message_at)
    conversation.note_customer_message(customer, last_message_at, last_message_at)
    conversation.state, conversation.queue, conversation.priority = (
        ConversationState.QUEUED,
        "general",
        "normal",
    )
    register(store.client, "PN")  # the number reached the webhook, as every conversation's did
    with store.client.pipeline(transaction=True) as pipe:
        store.save_conversation(pipe, conversation)
        enqueue(pipe, "PN", "general", conversation.id, Priority.NORMAL, last_message_at)
        pipe.execute()
    return conversation.id


def test_flag_then_abandon():
    store = Store(fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True))
    closing = waiting(store, "5511000000001", T0 - 23 * 3600)  # its window closes in one hour
    fresh = waiting(store, "5511000000002", T0 - 3600)

    assert watch_windows(store, RULES, clock=FixedClock(T0)) == (1, 0)
    assert store.conversation(closing).window_closing_flagged
    assert watch_windows(store, RULES, clock=FixedClock(T0 + 60)) == (0, 0)  # flagged once

    assert watch_windows(store, RULES, clock=FixedClock(T0 + 3601)) == (0, 1)
    gone = store.conversation(closing)
    assert (gone.state, gone.abandoned_at) == ("abandoned", T0 + 3601)
    assert store.client.zrange(keys.queue_key("PN", "general"), 0, -1) == [fresh]
    kinds = [e["type"] for _, e in store.client.xrange(keys.DESK_EVENTS)]
    assert kinds == ["window_closing", "abandoned"]
    assert store.client.hget(keys.COUNTERS, "abandoned") == "1"
