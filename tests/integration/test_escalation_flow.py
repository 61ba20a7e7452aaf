"""From signed webhooks to a queued context packet, on a real redis-server with a real worker process."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from handover import keys
from handover.message import CustomerRef
from handover.rules.loader import load_rules
from handover.store import Store
from tests.support.at_rest import BIRTH_DATE, CPF, traces
from tests.support.processes import Process, wait_for
from tests.support.webhook import PNID, RECENT, SECRET, body, signed, text_message

pytestmark = pytest.mark.integration

WA_ID = "5511987654321"
TURNS = ["oi, cadê meu pedido?", "529.982.247-25", "14/03/1988", "4455"]


def post_turns(settings: Settings) -> None:
    async def run() -> None:
        async with TestClient(TestServer(build_app(settings))) as client:
            # one POST, out of order, as Meta may batch and reorder them
            messages = [text_message(f"wamid.turn{i}", WA_ID, t, RECENT + i) for i, t in enumerate(TURNS)]
            raw, headers = signed(body(list(reversed(messages)), names={WA_ID: "Ana"}))
            assert (await client.post("/webhook", data=raw, headers=headers)).status == 200

    asyncio.run(run())


def test_customer_verified_and_handed_over_with_a_full_packet(redis_url, tmp_path):
    env = {
        "REDIS_URL": redis_url,
        "WHATSAPP_APP_SECRET": SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "v",
        "HANDOVER_PARTITIONS": "4",
        "HANDOVER_LOG_LEVEL": "INFO",
    }
    settings = Settings(
        redis_url=redis_url,
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        handover_partitions=4,
    )
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    post_turns(settings)
    worker = Process(["worker"], env, tmp_path / "worker.log").start()
    try:

        def queued():
            conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=WA_ID))
            return conversation if conversation and conversation.state == "queued" else None

        conversation = wait_for(queued, 60, "the conversation to be queued")
        wait_for(lambda: client.llen(keys.outbox_key(WA_ID)) >= 6, 60, "the bot's answers to be sent")
    finally:
        worker.stop()

    packet = store.packet(conversation.id)
    assert packet is not None
    assert (packet.queue, packet.priority, packet.escalation.reason) == ("general", "normal", "order_inquiry")
    assert packet.identity.verified and packet.identity.customer_reference == "CUST-0001"
    assert packet.collected == {"order_number": "4455"}
    assert packet.customer.profile_name == "Ana" and packet.customer.language == "pt"
    assert packet.escalation.rules_version == load_rules(settings.handover_rules).version
    inbound = [e.text for e in packet.transcript if e.direction == "in"]
    assert inbound == ["oi, cadê meu pedido?", "[cpf]", "[birth_date]", "4455"]
    assert client.zrange(keys.queue_key(PNID, "general"), 0, -1) == [conversation.id]

    said = [json.loads(m).get("text") for m in client.lrange(keys.outbox_key(WA_ID), 0, -1)]
    said = [s for s in said if s]
    assert said == [
        "Para sua segurança, qual é o seu CPF?",
        "E a sua data de nascimento (DD/MM/AAAA)?",
        "Pronto, Ana Souza, identidade confirmada.",
        "Qual é o número do pedido? (só os números)",
        "Obrigado! Vou passar o pedido 4455 para um atendente conferir com você.",
        said[5],
    ]
    assert said[5].startswith("Vou te passar para um atendente. Você é o 1º da fila") or said[5].startswith(
        "Nosso time atende"
    )
    decisions = store.decisions(conversation.id)
    assert [d.rule for d in reversed(decisions)] == [
        "intents.order_status",
        "identity.cpf",
        "intents.order_status.collect.order_number",
        "intents.order_status",
    ]
    # what proved the identity is nowhere: not in Redis (streams are trimmed once handled), not in the logs
    assert traces(client) == {}
    log = worker.log_path.read_bytes()
    assert not CPF.search(log) and not BIRTH_DATE.search(log)
