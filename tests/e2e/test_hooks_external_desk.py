"""Issue 33 items 1, 2 and 6 against real processes: an external desk (a CRM's inbox) subscribed with
`handover hooks add` hears `handed_over` with the context packet, claims through the desk API with its own
agent token, replies, resolves, and hears `assigned` and `resolved`: every delivery signed so that the
Standard Webhooks library (not our code) accepts it, and nothing the customer typed to prove who they are
in any of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from handover.hooks.model import HookEvent
from tests.fakes.hook_receiver import HookReceiver
from tests.support.cli import handover
from tests.support.processes import wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CUSTOMER = "5511987060001"


@pytest.fixture
def crm() -> Iterator[HookReceiver]:
    receiver = HookReceiver.start_in_thread()
    yield receiver
    receiver.stop()


@pytest.fixture
def stack(redis_url, tmp_path) -> Iterator[Stack]:
    running = Stack(redis_url, tmp_path).start(HANDOVER_HOOKS_ALLOW="127.0.0.1")
    try:
        yield running
    finally:
        running.stop()


def events(crm: HookReceiver, secret: str) -> list[dict[str, Any]]:
    """What arrived, each checked by the scheme's own library (it raises on a bad signature)."""
    return [Webhook(secret).verify(r.body, r.headers) for r in crm.taken()]


def test_an_external_desk_takes_a_conversation_through_hooks_and_the_api(stack, crm, tmp_path):
    env = {"REDIS_URL": stack.redis_url, "HANDOVER_HOOKS_ALLOW": "127.0.0.1"}
    events_wanted = "handed_over,assigned,resolved"
    added = handover(
        ["hooks", "add", crm.url, "--events", events_wanted, "--by", "ops", "--json"], env, tmp_path
    )
    assert added.returncode == 0, added.stderr
    secret = json.loads(added.stdout)["secret"]
    desk = stack.add_agent("CRM inbox", ["general"], capacity=10)

    stack.customer_says(CUSTOMER, "meu CPF é 123.456.789-09, quero falar com um atendente", "Rita")
    [handed] = wait_for(lambda: events(crm, secret) or None, 30, "handed_over at the CRM")
    assert handed["type"] == "handed_over"
    conversation = handed["data"]["conversation"]
    assert conversation["wa_id"] == CUSTOMER and conversation["state"] == "queued"
    assert handed["data"]["packet"]["escalation"]["reason"] == "customer_asked"
    assert handed["data"]["packet"]["conversation_id"] == conversation["id"]

    cid = conversation["id"]
    status, taken = stack.api("POST", "/queues/next", desk["token"])
    assert status == 200 and taken["id"] == cid
    status, _ = stack.api("POST", f"/conversations/{cid}/messages", desk["token"], {"text": "Olá Rita!"})
    assert status in (200, 201, 202)
    status, _ = stack.api("POST", f"/conversations/{cid}/resolve", desk["token"])
    assert status == 200

    arrived = wait_for(lambda: (lambda e: e if len(e) >= 3 else None)(events(crm, secret)), 30, "3 events")
    assert [e["type"] for e in arrived] == ["handed_over", "assigned", "resolved"]
    for event in arrived:  # the shape the OpenAPI document's `webhooks` promise
        HookEvent.model_validate(event)
    assert arrived[1]["data"]["conversation"]["agent_id"] == desk["id"]
    assert arrived[2]["data"]["reason"] == "resolved"
    ids = [r.headers["webhook-id"] for r in crm.taken()]
    assert len(set(ids)) == 3
    everything = b"".join(r.body for r in crm.taken())
    assert b"123.456.789-09" not in everything and b"12345678909" not in everything
    transcript = arrived[0]["data"]["packet"]["transcript"]
    assert transcript[0]["text"] == "meu CPF é #, quero falar com um atendente"
