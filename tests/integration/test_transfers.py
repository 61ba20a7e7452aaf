"""Cold transfers on a real Redis: to a queue, to an agent, the senior lane, the cap, no bouncing back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from handover import keys
from handover.agents import AgentStore, Presence, Role
from handover.bot import EscalationDecision
from handover.conversation import Conversation, ConversationState
from handover.errors import Conflict, NotFound, NotYours
from handover.identity import VerifiedIdentity
from handover.message import CustomerRef
from handover.packet import build_packet
from handover.queues import enqueue, queue_score
from handover.routing import Desk
from handover.rules.holder import RulesHolder
from handover.rules.model import Priority
from handover.store import Store
from handover.transfers import TransferRequest, Transfers

pytestmark = pytest.mark.integration

RULES = RulesHolder(Path(__file__).resolve().parents[2] / "config" / "rules.yaml")


@pytest.fixture
def desk(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store, agents = Store(client), AgentStore(client)

    def agent(name, queues, role=Role.AGENT):
        created, _ = agents.add(name, queues, capacity=5, role=role)
        agents.set_status(created.id, Presence.AVAILABLE)
        return agents.get(created.id)

    now = time.time()
    conversation = Conversation.start(
        CustomerRef(phone_number_id="PN", wa_id="5511900001111", profile_name="Ana"), now
    )
    conversation.note_customer_message(CustomerRef(phone_number_id="PN", wa_id="5511900001111"), now, now)
    conversation.state, conversation.queue, conversation.priority = (
        ConversationState.QUEUED,
        "general",
        "normal",
    )
    conversation.identity = VerifiedIdentity(
        method="cpf+birth_date", verified_at=now, customer_reference="C-1"
    )
    escalation = EscalationDecision(
        queue="general",
        priority="normal",
        reason="customer_asked",
        rule="r",
        rules_version="v",
        at=now - 300,
        trigger_message_id="wamid.1",
    )
    with client.pipeline(transaction=True) as pipe:
        store.save_conversation(pipe, conversation)
        store.save_packet(pipe, build_packet(conversation, escalation, []))
        enqueue(pipe, "general", conversation.id, Priority.NORMAL, now - 300)
        pipe.execute()
    return {
        "client": client,
        "store": store,
        "id": conversation.id,
        "agent": agent,
        "desk": Desk(store, 4),
        "transfers": Transfers(store, agents, RULES, 4),
    }


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
    with pytest.raises(Conflict, match="warm transfers"):
        transfers.transfer(ana, cid, TransferRequest(reason="x", to_queue="billing", mode="warm"))

    moved = transfers.transfer(
        ana,
        cid,
        TransferRequest(reason="segunda via do boleto", to_queue="billing", note="cliente já verificado"),
    )
    assert (moved.state, moved.queue, moved.agent_id) == ("queued", "billing", None)
    assert client.scard(keys.agent_load_key(ana.id)) == 0
    packet = store.packet(cid)
    [first] = packet.transfers
    assert (first.from_, first.to, first.mode, first.reason, first.note) == (
        ana.id,
        "queue:billing",
        "cold",
        "segunda via do boleto",
        "cliente já verificado",
    )
    told = store.transcript(cid)[-1]
    assert told.text == (
        "Vou te transferir para a equipe de financeiro (segunda via do boleto). "
        "Você não vai precisar repetir nada."
    )
    assert packet.identity.verified  # never asked again: the packet carries the verified identity along

    # it waited since it first asked for a person: ahead of a newer conversation in the same queue
    client.zadd(keys.queue_key("billing"), {"newer": queue_score(Priority.NORMAL, time.time())})
    assert client.zrange(keys.queue_key("billing"), 0, 0) == [cid]
    client.zrem(keys.queue_key("billing"), "newer")

    assert taken.claim_next(carlos).id == cid
    with pytest.raises(Conflict, match="came from"):
        transfers.transfer(carlos, cid, TransferRequest(reason="volta", to_agent=ana.id))
    second = transfers.transfer(carlos, cid, TransferRequest(reason="não é financeiro", to_queue="general"))
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
    client.zadd(keys.queue_key("general"), {"newer": queue_score(Priority.NORMAL, time.time())})
    assert desk["transfers"].requeue_held(ana) == [cid]
    back = store.conversation(cid)
    assert (back.state, back.queue, back.agent_id) == ("queued", "general", None)
    assert client.zrange(keys.queue_key("general"), 0, -1) == [cid, "newer"]
    assert client.scard(keys.agent_load_key(ana.id)) == 0
    [record] = store.packet(cid).transfers
    assert (record.from_, record.to, record.reason) == (ana.id, "queue:general", "agent_unavailable")


def test_a_supervisor_assigns_or_moves_a_waiting_conversation(desk):
    client, cid = desk["client"], desk["id"]
    ana, boss = desk["agent"]("Ana", ["general"]), desk["agent"]("Bia", ["general"], Role.SUPERVISOR)
    with pytest.raises(Conflict):  # agents take waiting conversations with /queues/next, not by moving them
        desk["transfers"].transfer(ana, cid, TransferRequest(reason="quero", to_agent=ana.id))
    moved = desk["transfers"].transfer(boss, cid, TransferRequest(reason="fila errada", to_queue="billing"))
    assert moved.queue == "billing" and client.zscore(keys.queue_key("general"), cid) is None
    assigned = desk["transfers"].transfer(
        boss, cid, TransferRequest(reason="cliente antiga da Ana", to_agent=ana.id)
    )
    assert (assigned.state, assigned.agent_id) == ("assigned", ana.id)
    assert client.zscore(keys.queue_key("billing"), cid) is None
    assert client.smembers(keys.agent_load_key(ana.id)) == {cid}
