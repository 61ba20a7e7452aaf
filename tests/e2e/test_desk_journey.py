"""The desk's whole journey over HTTP against real processes (redis-server, `handover serve`,
`handover worker`) and a fake Graph API on loopback: escalate → claim → the reply reaches Meta → the
customer answers (the bot stays silent) → cold transfer → warm transfer accepted → resolve → CSAT recorded;
then a desk that drops its connection past the grace period, and the 24-hour window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from handover import keys
from tests.support.customer import Customer
from tests.support.metrics import samples
from tests.support.processes import http_json, wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CUSTOMER = "5511987650001"


@pytest.fixture
def live(redis_url, tmp_path, graph) -> Iterator[Stack]:
    stack = Stack(redis_url, tmp_path).start_on_line(graph.base_url, HANDOVER_PRESENCE_GRACE_SECONDS="2")
    try:
        yield stack
    finally:
        stack.stop()


def waiting_conversation(stack: Stack, token: str, wa_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        listed = stack.api("GET", "/conversations?state=queued", token)[1]
        return next((c for c in listed if c["wa_id"] == wa_id), None)

    return wait_for(find, 30, f"{wa_id} waiting in a queue")


def test_escalate_claim_reply_transfer_resolve_and_rate(live, graph):
    ana = live.add_agent("Ana", ["general"])
    dani = live.add_agent("Dani", ["billing"])
    carlos = live.add_agent("Carlos", ["billing"])
    bia = live.add_agent("Bia", ["general", "billing"], role="supervisor")
    customer = Customer(live, graph, CUSTOMER, "Maria")
    anas_desk = live.listen(ana["token"])

    customer.says("quero falar com um atendente")
    waiting = waiting_conversation(live, bia["token"], CUSTOMER)
    cid, path = waiting["id"], f"/conversations/{waiting['id']}"
    wait_for(lambda: "waiting" in anas_desk.kinds(cid), 10, "Ana's desk to hear of it")
    queued_text = wait_for(lambda: [t for t in customer.texts() if "fila" in t], 30, "the queued message")
    assert "1º da fila" in queued_text[0]

    status, taken = live.api("POST", "/queues/next", ana["token"])
    assert status == 200 and taken["id"] == cid
    assert taken["packet"]["escalation"]["reason"] == "customer_asked"
    assert live.api("POST", "/queues/next", dani["token"])[0] == 204  # not her queue

    assert live.api("POST", f"{path}/messages", ana["token"], {"text": "Olá Maria, sou a Ana!"})[0] == 202
    wait_for(lambda: "Olá Maria, sou a Ana!" in customer.texts(), 30, "Ana's reply at Meta")
    sent_before = len(customer.received())
    customer.says("meu pedido 4455 não chegou")
    wait_for(lambda: "customer_wrote" in anas_desk.kinds(cid), 30, "the customer's words on Ana's desk")
    transcript = live.api("GET", path, ana["token"])[1]["transcript"]
    assert ("in", "meu pedido 4455 não chegou") in [(e["direction"], e["text"]) for e in transcript]
    ana_reply = next(e for e in transcript if e["text"] == "Olá Maria, sou a Ana!")
    assert ana_reply["author"] == f"agent:{ana['id']}" and ana_reply["delivery"]["status"] == "sent"
    # only the read receipt went out: while a person holds the conversation the bot says nothing
    assert len(customer.received()) == sent_before

    # cold: to billing, where Dani takes it; the customer is told, in Portuguese, and why
    moved = live.api(
        "POST",
        f"{path}/transfer",
        ana["token"],
        {"to_queue": "billing", "reason": "estorno", "customer_reason": "needs_approval"},
    )
    assert moved[0] == 200 and moved[1]["state"] == "queued" and moved[1]["queue"] == "billing"
    # told who takes over and the reason ops wrote, never the agent's own words ("estorno")
    wait_for(lambda: any("transferir" in t and "aprovação" in t for t in customer.texts()), 30, "told")
    assert not any("estorno" in t for t in customer.texts())
    assert live.api("GET", path, ana["token"])[0] == 403  # no longer hers
    assert live.api("POST", "/queues/next", dani["token"])[1]["id"] == cid

    # warm: Dani offers it to Carlos with a note; she keeps it until he accepts
    offer = {"to_agent": carlos["id"], "mode": "warm", "reason": "segunda via", "note": "já conferi o CPF"}
    offered = live.api("POST", f"{path}/transfer", dani["token"], offer)[1]
    assert offered["agent_id"] == dani["id"] and offered["offer"]["to_agent"] == carlos["id"]
    seen_by_carlos = live.api("GET", path, carlos["token"])[1]
    assert seen_by_carlos["offer"]["note"] == "já conferi o CPF"
    accepted = live.api("POST", f"{path}/accept", carlos["token"])[1]
    assert (accepted["state"], accepted["agent_id"], accepted["offer"]) == ("assigned", carlos["id"], None)
    history = [(t["mode"], t["reason"], t["note"]) for t in accepted["packet"]["transfers"]]
    assert history == [("cold", "estorno", None), ("warm", "segunda via", "já conferi o CPF")]

    # resolve: the survey goes out as reply buttons; the tap is recorded on the conversation
    assert live.api("POST", f"{path}/resolve", carlos["token"])[1]["state"] == "resolved"
    survey = wait_for(
        lambda: [b for b in customer.received() if b.get("type") == "interactive"], 30, "the survey"
    )[-1]
    buttons = [b["reply"]["id"] for b in survey["interactive"]["action"]["buttons"]]
    assert buttons == ["csat_good", "csat_ok", "csat_bad"]
    customer.taps("csat_good", "😀 Ótimo")
    rated = wait_for(
        lambda: (c := live.api("GET", path, bia["token"])[1])["csat"] and c, 30, "the rating recorded"
    )
    assert (rated["csat"], rated["csat_score"], rated["state"]) == ("csat_good", 3, "resolved")
    wait_for(lambda: "Obrigado pela avaliação!" in customer.texts(), 30, "the thanks")
    anas_desk.close()
    shown = samples(http_json("GET", f"{live.base}/metrics")[1])
    assert (
        shown['handover_transfers_total{mode="cold"}'],
        shown['handover_transfers_total{mode="warm"}'],
    ) == (1, 1)
    assert (shown["handover_claimed_total"], shown["handover_resolved_total"]) == (2, 1)  # Ana's, Dani's


def test_a_desk_that_drops_past_the_grace_period_gives_its_conversations_back(live, graph, redis_url):
    ana = live.add_agent("Ana", ["general"])
    bia = live.add_agent("Bia", ["general"], role="supervisor")
    customer = Customer(live, graph, "5511987650002", "João")
    customer.says("atendente, por favor")
    cid = waiting_conversation(live, bia["token"], customer.wa_id)["id"]
    desk = live.listen(ana["token"])
    assert live.api("POST", "/queues/next", ana["token"])[1]["id"] == cid
    supervisor_desk = live.listen(bia["token"])

    desk.close()  # the laptop lid closes; HANDOVER_PRESENCE_GRACE_SECONDS is 2 here
    back = wait_for(
        lambda: (c := live.api("GET", f"/conversations/{cid}", bia["token"])[1])["state"] == "queued" and c,
        30,
        "the conversation back in its queue",
    )
    assert back["agent_id"] is None and back["packet"]["transfers"][-1]["reason"] == "agent_unavailable"
    assert live.api("GET", "/me", ana["token"])[1]["status"] == "offline"
    statuses = [
        (d["agent_id"], d.get("status"), d.get("why"))
        for k, d in supervisor_desk.events
        if k == "agent_status"
    ]
    assert (ana["id"], "offline", "connection_lost") in statuses
    supervisor_desk.close()


def test_outside_the_window_replies_are_refused_and_templates_go_out(live, graph, redis_url):
    ana = live.add_agent("Ana", ["general"])
    customer = Customer(live, graph, "5511987650003", "Rita")
    customer.says("quero falar com um atendente")
    cid = waiting_conversation(live, ana["token"], customer.wa_id)["id"]
    assert live.api("POST", "/queues/next", ana["token"])[1]["id"] == cid
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.hset(keys.conversation_key(cid), "window_expires_at", str(time.time() - 1))  # 24 h went by
    client.close()

    status, refused = live.api("POST", f"/conversations/{cid}/messages", ana["token"], {"text": "ainda aí?"})
    assert status == 409 and refused["error"]["code"] == "window_closed"
    assert f"/conversations/{cid}/template" in refused["error"]["message"]
    template = {"name": "retomar_atendimento", "language": "pt_BR", "params": ["Rita"]}
    assert live.api("POST", f"/conversations/{cid}/template", ana["token"], template)[0] == 202
    sent = wait_for(
        lambda: [b for b in customer.received() if b.get("type") == "template"], 30, "the template at Meta"
    )
    assert sent[0]["template"]["name"] == "retomar_atendimento"
    assert "ainda aí?" not in customer.texts()
