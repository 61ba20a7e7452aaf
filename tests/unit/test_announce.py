"""Waiting customers are told their new place only when the estimate changed, at most every 5 minutes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import fakeredis
import pytest

from handover import keys
from handover.announce import announce_positions
from handover.enqueue import InboundItem, ingest
from handover.identity import FileDirectory
from handover.keys import Lane
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.processing import Processor
from handover.queues import RedisQueueView
from handover.rules.bot import RuleBot
from handover.rules.loader import load_rules
from handover.store import Store
from handover.streams import drain, ensure_groups

CONFIG = Path(__file__).resolve().parents[2] / "config"
RULES = load_rules(CONFIG / "rules.yaml")
MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
PNID = "PN"


@pytest.fixture
def setup():
    server = fakeredis.FakeServer()
    sync = fakeredis.FakeRedis(server=server, decode_responses=True)
    ensure_groups(sync, 2)
    store = Store(sync)
    bot = RuleBot(
        lambda: RULES, RedisQueueView(sync), FileDirectory(CONFIG / "customers.yaml"), clock=lambda: NOW[0]
    )
    processor = Processor(store=store, bot=bot, partitions=2, clock=lambda: NOW[0])
    return sync, fakeredis.FakeAsyncRedis(server=server, decode_responses=True), store, processor


NOW = [MONDAY_10H]


async def escalate(aclient, sync, processor, wa_id: str, n: int) -> None:
    NOW[0] = MONDAY_10H + n  # one second apart: the first to ask is the first in line
    customer = CustomerRef(phone_number_id=PNID, wa_id=wa_id, profile_name="Ana")
    message = InboundMessage(
        id=f"wamid.{n}",
        customer=customer,
        timestamp=int(MONDAY_10H),
        kind=InboundKind.TEXT,
        wa_type="text",
        text="atendente",
    )
    await ingest(aclient, [InboundItem(type="message", message=message)], 2)
    for p in range(2):
        drain(sync, Lane.INBOUND, p, processor.handle, batch_size=10, lease_seconds=5)


def bot_texts(store: Store, wa_id: str) -> list[str]:
    conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))
    return [e.text for e in store.transcript(conversation.id) if e.direction == "out"]


async def test_updates_only_on_change_and_never_too_often(setup):
    sync, aclient, store, processor = setup
    await escalate(aclient, sync, processor, "5511000000001", 1)
    await escalate(aclient, sync, processor, "5511000000002", 2)
    assert bot_texts(store, "5511000000002") == [
        "Vou te passar para um atendente. Você é o 2º da fila (espera estimada: 4 min)."
    ]

    assert announce_positions(store, RULES, 2, now=MONDAY_10H + 600) == 0  # nothing changed
    sync.lpush(keys.queue_waits_key("general"), 30, 30, 30)  # agents are quick today
    assert announce_positions(store, RULES, 2, now=MONDAY_10H + 60) == 0  # changed, but told a minute ago
    assert announce_positions(store, RULES, 2, now=MONDAY_10H + 600) == 2
    assert (
        bot_texts(store, "5511000000002")[-1]
        == "Atualizando: você agora é o 2º da fila (espera estimada: 1 min)."
    )
    assert (
        bot_texts(store, "5511000000001")[-1]
        == "Atualizando: você agora é o 1º da fila (espera estimada: menos de 1 minuto)."
    )
    assert announce_positions(store, RULES, 2, now=MONDAY_10H + 1200) == 0  # same estimate: silence
    # the update goes out like any reply
    assert sum(sync.xlen(keys.stream_key(Lane.OUTBOUND, p)) for p in range(2)) > 0


async def test_no_updates_while_the_queue_is_closed_or_after_the_window(setup):
    sync, aclient, store, processor = setup
    await escalate(aclient, sync, processor, "5511000000003", 3)
    sync.lpush(keys.queue_waits_key("general"), 3000)
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
    assert announce_positions(store, RULES, 2, now=sunday) == 0
    next_tuesday = MONDAY_10H + 25 * 3600
    assert announce_positions(store, RULES, 2, now=next_tuesday) == 0  # 24-hour window closed
