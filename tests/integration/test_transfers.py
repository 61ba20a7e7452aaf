"""Cold transfers on a real Redis: to a queue, to an agent, the senior lane, the cap, no bouncing back."""

from __future__ import annotations

import time

import pytest

from handover import keys
from handover.agents import Role
from handover.assignment.queues import queue_score
from handover.errors import Conflict, Invalid, NotFound, NotYours
from handover.rules.model import Priority
from handover.transfers import TransferRequest

pytestmark = pytest.mark.integration


def test_cold_transfers_and_their_governance(desk):
    client, store, cid = desk["client"], desk["store"], desk["id"]
    ana, carlos = desk["agent"]("Ana", ["general"]), desk["agent"]("Carlos", ["billing"])
    dani = desk["agent"]("Dani", ["senior"])
    boss = desk["agent"]("Bia", ["general"], Role.SUPERVISOR)
    transfers, taken = desk["transfers"], desk["desk"]

    assert taken.claim_next(ana).id == cid
    with pytest.raises(NotYours):
        transfers.transfer(carlos, cid, TransferRequest(reason="x", to_queue="billing"))
    with pytest.raises(NotFound):
        transfers.transfer(ana, cid, TransferRequest(reason="x", to_queue="biling"))
    with pytest.raises(Conflict, match="a warm transfer is an offer"):
        transfers.transfer(ana, cid, TransferRequest(reason="x", to_queue="billing", mode="warm"))

    with pytest.raises(Invalid, match="unknown customer_reason 'porque sim'"):  # only what ops wrote
        transfers.transfer(
            ana, cid, TransferRequest(reason="x", to_queue="billing", customer_reason="porque sim")
        )
    moved = transfers.transfer(
        ana,
        cid,
        TransferRequest(
            reason="segunda via do boleto",
            to_queue="billing",
            note="cliente já verificado",
            customer_reason="specialist",
        ),
    )
    assert (moved.state, moved.queue, moved.agent_id) == ("queued", "billing", None)
    assert client.scard(keys.agent_load_key(ana.id)) == 0
    packet = store.packet(cid)
    [first] = packet.transfers
    assert (first.from_, first.to, first.mode, first.reason, first.note, first.customer_reason) == (
        ana.id,
        "queue:billing",
        "cold",
        "segunda via do boleto",
        "cliente já verificado",
        "specialist",
    )
    told = store.transcript(cid)[-1]
    assert told.text == (  # the reason ops wrote, never the agent's own words
        "Vou te transferir para a equipe de financeiro. Essa equipe é especialista no seu caso. "
        "Você não vai precisar repetir nada."
    )
    assert packet.identity.verified  # never asked again: the packet carries the verified identity along

    # it waited since it first asked for a person: ahead of a newer conversation in the same queue
    client.zadd(keys.queue_key("PN", "billing"), {"newer": queue_score(Priority.NORMAL, time.time())})
    assert client.zrange(keys.queue_key("PN", "billing"), 0, 0) == [cid]
    client.zrem(keys.queue_key("PN", "billing"), "newer")

    assert taken.claim_next(carlos).id == cid
    with pytest.raises(Conflict, match="came from"):
        transfers.transfer(carlos, cid, TransferRequest(reason="volta", to_agent=ana.id))
    second = transfers.transfer(carlos, cid, TransferRequest(reason="não é financeiro", to_queue="general"))
    assert store.transcript(cid)[-1].text == (  # no reason chosen: the internal one stays internal
        "Vou te transferir para a equipe de especialistas. Você não vai precisar repetir nada."
    )
    assert (second.queue, second.priority) == ("senior", "high")  # the 2nd transfer: senior lane, sooner

    assert taken.claim_next(dani).id == cid
    third = transfers.transfer(dani, cid, TransferRequest(reason="especialista em entregas", to_agent=ana.id))
    assert (third.state, third.agent_id) == ("assigned", ana.id)
    assert client.smembers(keys.agent_load_key(ana.id)) == {cid}
    with pytest.raises(Conflict, match="only a supervisor"):
        transfers.transfer(ana, cid, TransferRequest(reason="de novo", to_queue="general"))
    fourth = transfers.transfer(
        boss, cid, TransferRequest(reason="decisão da supervisão", to_queue="retention")
    )
    assert fourth.queue == "senior" and len(store.packet(cid).transfers) == 4


def test_an_agent_going_offline_puts_their_conversations_back_first_in_line(desk):
    client, store, cid = desk["client"], desk["store"], desk["id"]
    ana = desk["agent"]("Ana", ["general"])
    assert desk["desk"].claim_next(ana).id == cid
    client.zadd(keys.queue_key("PN", "general"), {"newer": queue_score(Priority.NORMAL, time.time())})
    assert desk["transfers"].requeue_held(ana) == [cid]
    back = store.conversation(cid)
    assert (back.state, back.queue, back.agent_id) == ("queued", "general", None)
    assert client.zrange(keys.queue_key("PN", "general"), 0, -1) == [cid, "newer"]
    assert client.scard(keys.agent_load_key(ana.id)) == 0
    [record] = store.packet(cid).transfers
    assert (record.from_, record.to, record.reason) == (ana.id, "queue:general", "agent_unavailable")


def test_a_supervisor_assigns_or_moves_a_waiting_conversation(desk):
    client, cid = desk["client"], desk["id"]
    ana, boss = desk["agent"]("Ana", ["general"]), desk["agent"]("Bia", ["general"], Role.SUPERVISOR)
    with pytest.raises(Conflict):  # agents take waiting conversations with /queues/next, not by moving them
        desk["transfers"].transfer(ana, cid, TransferRequest(reason="quero", to_agent=ana.id))
    moved = desk["transfers"].transfer(boss, cid, TransferRequest(reason="fila errada", to_queue="billing"))
    assert moved.queue == "billing" and client.zscore(keys.queue_key("PN", "general"), cid) is None
    assigned = desk["transfers"].transfer(
        boss, cid, TransferRequest(reason="cliente antiga da Ana", to_agent=ana.id)
    )
    assert (assigned.state, assigned.agent_id) == ("assigned", ana.id)
    assert client.zscore(keys.queue_key("PN", "billing"), cid) is None
    assert client.smembers(keys.agent_load_key(ana.id)) == {cid}
