"""Warm transfers on a real Redis: offered with a note, accepted or declined, or withdrawn on timeout."""

from __future__ import annotations

import time

import pytest

from handover import keys
from handover.agents import Role
from handover.clock import FixedClock
from handover.errors import Conflict, NotYours
from handover.transfers import TransferRequest
from handover.warm import WarmTransfers

pytestmark = pytest.mark.integration


def events(client) -> list[tuple[str, str]]:
    return [(e["type"], e["agent_id"]) for _, e in client.xrange(keys.DESK_EVENTS)]


def test_offer_accept_moves_it_with_the_note(desk):
    client, store, cid, warm = desk["client"], desk["store"], desk["id"], desk["warm"]
    ana, carlos = desk["agent"]("Ana", ["general"]), desk["agent"]("Carlos", ["billing"])
    dani = desk["agent"]("Dani", ["billing"])
    assert desk["desk"].claim_next(ana).id == cid
    offered = warm.offer(
        ana,
        cid,
        TransferRequest(
            reason="estorno",
            to_agent=carlos.id,
            mode="warm",
            note="já conferi o pedido 4455",
            customer_reason="needs_approval",
        ),
    )
    assert (offered.state, offered.agent_id, offered.offer_to) == ("transferring", ana.id, carlos.id)
    assert desk["desk"].conversation_for(carlos, cid).id == cid  # the target may read it before accepting
    desk["desk"].send(ana, cid, "Um momento, vou chamar o financeiro.")  # until then it is still Ana's
    with pytest.raises(NotYours):
        warm.accept(dani, cid)

    taken = warm.accept(carlos, cid)
    assert (taken.state, taken.agent_id, taken.offer_to) == ("assigned", carlos.id, None)
    assert client.smembers(keys.agent_load_key(carlos.id)) == {cid}
    assert client.scard(keys.agent_load_key(ana.id)) == 0
    [record] = store.packet(cid).transfers
    assert (record.mode, record.from_, record.to, record.note, record.reason, record.customer_reason) == (
        "warm",
        ana.id,
        carlos.id,
        "já conferi o pedido 4455",
        "estorno",
        "needs_approval",
    )
    assert store.transcript(cid)[-1].text == (  # what ops wrote, not the agent's "estorno"
        "Vou te passar para Carlos, que continua o seu atendimento. O seu pedido precisa de uma aprovação "
        "que só essa equipe pode dar. Você não vai precisar repetir nada."
    )
    assert ("transfer_offered", carlos.id) in events(client) and ("transfer_accepted", ana.id) in events(
        client
    )


def test_decline_and_timeout_give_it_back(desk):
    client, store, cid, warm = desk["client"], desk["store"], desk["id"], desk["warm"]
    ana, carlos = desk["agent"]("Ana", ["general"]), desk["agent"]("Carlos", ["billing"])
    assert desk["desk"].claim_next(ana).id == cid
    warm.offer(ana, cid, TransferRequest(reason="estorno", to_agent=carlos.id, mode="warm"))
    back = warm.decline(carlos, cid)
    assert (back.state, back.agent_id, back.offer_to) == ("assigned", ana.id, None)
    assert ("transfer_declined", ana.id) in events(client)
    with pytest.raises(Conflict):
        warm.accept(carlos, cid)  # nothing on offer any more

    clock = FixedClock(time.time())
    timed = WarmTransfers(store, desk["agents"], warm.rules, warm.partitions, clock=clock)
    timed.offer(ana, cid, TransferRequest(reason="estorno", to_agent=carlos.id, mode="warm"))
    clock.advance(60)
    assert timed.expire_offers() == 0
    clock.advance(61)
    assert timed.expire_offers() == 1  # the shipped rules give 120 s
    expired = store.conversation(cid)
    assert (expired.state, expired.agent_id) == ("assigned", ana.id)
    assert store.packet(cid).transfers == []
    boss = desk["agent"]("Bia", ["general"], Role.SUPERVISOR)
    with pytest.raises(Conflict, match="that is you"):
        warm.offer(boss, cid, TransferRequest(reason="x", to_agent=boss.id, mode="warm"))
