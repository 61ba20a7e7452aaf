"""Ticks move live: the agent holding a conversation gets a `message_status` event each time one of its
messages is sent, fails, or is delivered or read; conversations nobody holds (the bot's) publish none."""

from __future__ import annotations

import json

import fakeredis

from handover import keys
from handover.message import DeliveryStatus, OutboundKind, OutboundRequest, SendOutcome, StatusUpdate
from handover.store import Store
from handover.transcript import TranscriptEntry

NOW = 1_800_000_000.0
NO_ERROR = {"error_code": None, "error_title": None}


def conversation_with_a_reply(store: Store, conversation_id: str, agent_id: str | None) -> None:
    request = OutboundRequest(kind=OutboundKind.TEXT, phone_number_id="1", to="5511", text="oi")
    entry = TranscriptEntry.from_outbound(f"out.{conversation_id}", request, "agent", NOW, 1)
    store.client.hset(keys.conversation_key(conversation_id), mapping={"state": "assigned"})
    if agent_id:
        store.client.hset(keys.conversation_key(conversation_id), "agent_id", agent_id)
    with store.client.pipeline() as pipe:
        store.append_entry(pipe, conversation_id, entry)
        pipe.execute()


def sent(store: Store, conversation_id: str, outcome: SendOutcome) -> None:
    with store.client.pipeline() as pipe:
        store.record_send(pipe, conversation_id, f"out.{conversation_id}", outcome, 1, NOW + 1)
        pipe.execute()


def reported(store: Store, wamid: str, status: DeliveryStatus) -> None:
    with store.client.pipeline() as pipe:
        store.apply_status(
            pipe, StatusUpdate(message_id=wamid, status=status, timestamp=int(NOW) + 2, phone_number_id="1")
        )
        pipe.execute()


def events(store: Store) -> list[tuple[str, str, str, dict[str, object]]]:
    return [
        (f["type"], f["conversation_id"], f["agent_id"], json.loads(f["data"]))
        for _, f in store.client.xrange(keys.DESK_EVENTS)
    ]


def test_the_holder_hears_each_tick_and_the_failure_reason():
    store = Store(fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True))
    conversation_with_a_reply(store, "held", "ag_ana")
    conversation_with_a_reply(store, "failing", "ag_ana")

    sent(store, "held", SendOutcome(ok=True, wa_message_id="wamid.A"))
    reported(store, "wamid.A", DeliveryStatus.READ)
    reported(store, "wamid.A", DeliveryStatus.DELIVERED)  # late, and behind: no event, no change
    sent(store, "failing", SendOutcome(ok=False, error_code=131047, error_title="Re-engagement message"))

    assert events(store) == [
        ("message_status", "held", "ag_ana", {**NO_ERROR, "entry_id": "out.held", "status": "sent"}),
        ("message_status", "held", "ag_ana", {**NO_ERROR, "entry_id": "out.held", "status": "read"}),
        (
            "message_status",
            "failing",
            "ag_ana",
            {
                "entry_id": "out.failing",
                "status": "failed",
                "error_code": 131047,
                "error_title": "Re-engagement message",
            },
        ),
    ]


def test_the_bots_conversations_stay_off_the_desk_stream():
    store = Store(fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True))
    conversation_with_a_reply(store, "bot", None)

    sent(store, "bot", SendOutcome(ok=True, wa_message_id="wamid.B"))
    reported(store, "wamid.B", DeliveryStatus.DELIVERED)

    assert store.transcript("bot")[0].delivery.status == "delivered"
    assert events(store) == []
