"""Agents whose desk connection is gone past the grace period: offline, their conversations waiting again."""

from __future__ import annotations

import pytest

from handover import keys
from handover.assignment.liveness import drop_gone, seen
from handover.clock import FixedClock

pytestmark = pytest.mark.integration


def test_gone_past_the_grace_period_goes_offline_and_back_to_the_queue_first(desk):
    client, store, cid = desk["client"], desk["store"], desk["id"]
    ana, carlos = desk["agent"]("Ana", ["general"]), desk["agent"]("Carlos", ["general"])
    assert desk["desk"].claim_next(ana).id == cid
    seen(client, ana.id, clock=FixedClock(1000.0))
    seen(client, carlos.id, clock=FixedClock(1000.0))
    seen(client, carlos.id, clock=FixedClock(1050.0))  # Carlos's desk is still beating

    assert drop_gone(client, desk["agents"], desk["transfers"], grace=60, clock=FixedClock(1059.0)) == []
    assert drop_gone(client, desk["agents"], desk["transfers"], grace=60, clock=FixedClock(1061.0)) == [
        ana.id
    ]

    waiting = store.conversation(cid)
    assert (waiting.state, waiting.agent_id, waiting.queue) == ("queued", None, "general")
    assert desk["agents"].get(ana.id).status == "offline"
    assert desk["agents"].get(carlos.id).status == "available"
    assert client.scard(keys.agent_load_key(ana.id)) == 0
    assert store.packet(cid).transfers[-1].reason == "agent_unavailable"
    # what is announced: Ana's presence (supervisors watch it), then the conversation waiting again
    kinds = [(e["type"], e["agent_id"]) for _, e in client.xrange(keys.DESK_EVENTS)]
    assert ("agent_status", ana.id) in kinds
    # once handled, Ana is out of the live set: the next sweep does not touch her again
    assert drop_gone(client, desk["agents"], desk["transfers"], grace=60, clock=FixedClock(5000.0)) == [
        carlos.id
    ]


def test_agents_that_never_opened_a_desk_keep_their_presence(desk):
    client, cid = desk["client"], desk["id"]
    api_only = desk["agent"]("Integração", ["general"])
    assert desk["desk"].claim_next(api_only).id == cid
    assert drop_gone(client, desk["agents"], desk["transfers"], grace=1, clock=FixedClock(10**10)) == []
    assert desk["store"].conversation(cid).agent_id == api_only.id
