"""Waiting customers are told their new place only when the estimate changed, at most every 5 minutes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handover import keys
from handover.announce import announce_positions
from handover.clock import FixedClock
from handover.keys import Lane
from handover.rules.model import Priority
from handover.waits import band_of
from tests.support.world import RULES, World

MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()


@pytest.fixture
def world() -> World:
    return World(now=MONDAY_10H)


async def escalate(world: World, wa_id: str, n: int) -> None:
    world.clock.now = MONDAY_10H + n  # one second apart: the first to ask is the first in line
    await world.says(wa_id, "atendente", at=MONDAY_10H)


def bot_texts(world: World, wa_id: str) -> list[str]:
    return [e.text for e in world.store.transcript(world.current(wa_id).id) if e.direction == "out"]


async def test_updates_only_on_change_and_never_too_often(world):
    store, sync = world.store, world.sync
    await escalate(world, "5511000000001", 1)
    await escalate(world, "5511000000002", 2)
    assert bot_texts(world, "5511000000002") == [
        "Vou te passar para um atendente. Você é o 2º da fila (espera estimada: 4 min)."
    ]

    assert announce_positions(store, RULES, 2, clock=FixedClock(MONDAY_10H + 600)) == 0  # nothing changed
    # agents are quick today: three taken 20 s after joining, nobody ahead (`waited began band`)
    band = band_of(Priority.NORMAL)
    sync.lpush(
        keys.queue_waits_key("PN", "general"), *(f"20 {MONDAY_10H - 900 + 60 * n} {band}" for n in range(3))
    )
    # changed, but told a minute ago
    assert announce_positions(store, RULES, 2, clock=FixedClock(MONDAY_10H + 60)) == 0
    assert announce_positions(store, RULES, 2, clock=FixedClock(MONDAY_10H + 600)) == 2
    assert (
        bot_texts(world, "5511000000002")[-1]
        == "Atualizando: você agora é o 2º da fila (espera estimada: 1 min)."
    )
    assert (
        bot_texts(world, "5511000000001")[-1]
        == "Atualizando: você agora é o 1º da fila (espera estimada: menos de 1 minuto)."
    )
    # same estimate: silence
    assert announce_positions(store, RULES, 2, clock=FixedClock(MONDAY_10H + 1200)) == 0
    # the update goes out like any reply
    assert sum(sync.xlen(keys.stream_key(Lane.OUTBOUND, p)) for p in range(2)) > 0


async def test_no_updates_while_the_queue_is_closed_or_after_the_window(world):
    store, sync = world.store, world.sync
    await escalate(world, "5511000000003", 3)
    sync.lpush(keys.queue_waits_key("PN", "general"), 3000)
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
    assert announce_positions(store, RULES, 2, clock=FixedClock(sunday)) == 0
    next_tuesday = MONDAY_10H + 25 * 3600
    assert announce_positions(store, RULES, 2, clock=FixedClock(next_tuesday)) == 0  # 24-hour window closed
