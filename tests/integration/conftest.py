"""Integration fixtures: a conversation waiting in `general` with a packet, a way to make agents, and a
worker with a fake Graph API behind the desk API's tests."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from config.settings import Settings
from handover.agents import AgentStore, Presence, Role
from handover.assignment.claims import Assignments
from handover.assignment.queues import enqueue
from handover.bot import EscalationDecision
from handover.conversation import Conversation, ConversationState
from handover.identity import VerifiedIdentity
from handover.message import CustomerRef
from handover.numbers import register
from handover.packet import build_packet
from handover.rules.holder import RulesHolder
from handover.rules.model import Priority
from handover.store import Store
from handover.transfers import Transfers
from handover.warm import WarmTransfers
from tests.fakes.graph_server import FakeGraph
from tests.support.processes import Process
from tests.support.webhook import SECRET

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
    register(client, "PN")  # the number reached the webhook, as every conversation's did
    with client.pipeline(transaction=True) as pipe:
        store.save_conversation(pipe, conversation)
        store.save_packet(pipe, build_packet(conversation, escalation, []))
        enqueue(pipe, "PN", "general", conversation.id, Priority.NORMAL, now - 300)
        pipe.execute()
    return {
        "client": client,
        "store": store,
        "id": conversation.id,
        "agent": agent,
        "agents": agents,
        "desk": Assignments(store, 4),
        "transfers": Transfers(store, agents, RULES, 4),
        "warm": WarmTransfers(store, agents, RULES, 4),
    }


def start_worker(
    redis_url: str, graph: FakeGraph, log: Path, partitions: int = 4, rules: Path | None = None
) -> tuple[Settings, Process]:
    """A `handover worker` process on a real line (the fake Graph API), and the same settings for an
    in-test app that posts the webhooks and serves the desk."""
    settings = Settings(
        redis_url=redis_url,
        whatsapp_access_token="t",
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        whatsapp_api_url=graph.base_url,
        handover_partitions=partitions,
        **({"handover_rules": rules} if rules else {}),
    )
    env = {
        "REDIS_URL": redis_url,
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_APP_SECRET": SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_API_URL": graph.base_url,
        "HANDOVER_PARTITIONS": str(partitions),
        "HANDOVER_RULES": str(settings.handover_rules),
    }
    return settings, Process(["worker"], env, log).start()


@pytest.fixture
def world(redis_url, tmp_path):
    """A worker process and a fake Graph API; (settings for an in-test app, the fake Graph API)."""
    graph = FakeGraph.start_in_thread()
    settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log")
    yield settings, graph
    worker.stop()
    graph.stop()
