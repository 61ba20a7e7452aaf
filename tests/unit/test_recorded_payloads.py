"""Every recorded webhook body (pywa's 74 and ours) is signed, posted, acknowledged, and lands."""

from __future__ import annotations

import json
from pathlib import Path

import fakeredis
import pytest

from app.web import build_app
from handover import keys
from handover.bot import SilentBot
from handover.keys import Lane
from tests.conftest import PYWA_FIXTURES
from tests.support.fake_redis import sync_beside
from tests.support.webhook import line_settings, signed_post
from tests.support.world import World

OURS = Path(__file__).resolve().parents[1] / "data" / "webhooks"
PARTITIONS = 2


def scenarios(folder: Path) -> list[tuple[str, dict]]:
    found = []
    for path in sorted(folder.glob("*.json")):
        for name, body in json.loads(path.read_text()).items():
            found.append((f"{path.stem}/{name}", body))
    return found


PYWA = scenarios(PYWA_FIXTURES)
ALL = PYWA + scenarios(OURS)


def test_all_74_pywa_bodies_are_here():
    assert len(PYWA) == 74


def expected_messages(payload: dict) -> list[str]:
    """Messages land in a transcript, and so do echoes (sent from the WhatsApp Business app); a number or
    id change of a customer never seen has no conversation to move (handover/rekey.py) and lands nowhere."""
    found = []
    for change in (c for e in payload["entry"] for c in e["changes"]):
        if change.get("field") == "smb_message_echoes":
            found += [m["id"] for m in change["value"].get("message_echoes", [])]
        elif change.get("field") == "messages":
            found += [m["id"] for m in change["value"].get("messages", []) if "id" in m and not _rekeys(m)]
    return found


def _rekeys(message: dict) -> bool:
    return message.get("type") == "system" and message["system"].get("type") in (
        "user_changed_number",
        "user_changed_user_id",
    )


@pytest.mark.parametrize(("name", "payload"), ALL, ids=[name for name, _ in ALL])
async def test_recorded_body_is_acknowledged_and_its_messages_reach_the_transcript(
    aiohttp_client, name, payload
):
    server = fakeredis.FakeServer()
    fake = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    settings = line_settings(partitions=PARTITIONS)
    client = await aiohttp_client(build_app(settings, redis_client=fake, sync_client=sync_beside(fake)))

    response = await signed_post(client, payload)
    assert response.status == 200, await response.text()

    world = World(server=server, partitions=PARTITIONS, bot=SilentBot(), batch_size=100)
    world.drain_all()
    sync, store = world.sync, world.store
    landed = set()
    for conversation_key in sync.scan_iter(f"{keys.PREFIX}conv:*"):
        conversation_id = conversation_key.rsplit(":", 1)[1]
        landed |= {e.id for e in store.transcript(conversation_id) if e.direction != "note"}
    assert landed == set(expected_messages(payload))
    assert sync.xlen(keys.dead_letter_key(Lane.INBOUND)) == 0
    assert int(sync.hget(keys.COUNTERS, "malformed_entries") or 0) == 0
    kept_aside = [c for e in payload["entry"] for c in e["changes"]]
    others = [c for c in kept_aside if c.get("field") not in ("messages", "smb_message_echoes")]
    assert sync.xlen(keys.EVENTS) >= len(others)
