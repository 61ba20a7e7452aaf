"""A customer leaves a push queue while an offer waits on an agent, against real processes (redis-server,
`handover serve`, `handover worker`) with the desk over HTTP: the offer is withdrawn on the agent's desk,
the customer is told, the conversation says why it ended, and a supervisor's stats count it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from handover import keys
from tests.support.processes import wait_for
from tests.support.stack import Stack, always_open_rules
from tests.support.webhook import PNID

pytestmark = pytest.mark.integration

CUSTOMER = "5511987650077"


def push_rules(workdir: Path) -> Path:
    """The shipped rules, open around the clock, with `general` offering each conversation for 5 minutes
    (nothing expires during the test)."""
    rules = yaml.safe_load(always_open_rules(workdir).read_text())
    rules["queues"]["general"] |= {"assignment": "push", "offer_timeout_seconds": 300}
    path = workdir / "push-rules.yaml"  # the stack writes its own rules.yaml when it starts
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return path


@pytest.fixture
def live(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(redis_url, tmp_path)
    stack.start(HANDOVER_RULES=str(push_rules(tmp_path)))
    try:
        yield stack
    finally:
        stack.stop()


def test_a_customer_leaving_while_offered_withdraws_the_offer_and_counts_one_abandonment(
    live: Stack, redis_url: str
) -> None:
    bia = live.add_agent("Bia", ["general"])
    sup = live.add_agent("Sol", ["general"], role="supervisor", status="")
    bias_desk = live.listen(bia["token"])
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        live.customer_says(CUSTOMER, "quero falar com um atendente")

        def offered() -> dict[str, Any] | None:
            listed = live.api("GET", "/conversations?state=queued", sup["token"])[1]
            found = next((c for c in listed if c["wa_id"] == CUSTOMER), None)
            return found if found and (found["offer"] or {}).get("to_agent") == bia["id"] else None

        cid = wait_for(offered, 30, "the conversation offered to Bia")["id"]
        wait_for(lambda: "offered" in bias_desk.kinds(cid), 10, "Bia's desk to hear of the offer")
        assert client.smembers(keys.agent_offers_key(bia["id"])) == {cid}

        live.customer_says(CUSTOMER, "deixa pra lá, já resolvi")

        wait_for(lambda: "offer_withdrawn" in bias_desk.kinds(cid), 30, "the offer withdrawn on Bia's desk")
        withdrawn = next(
            d for k, d in bias_desk.events if k == "offer_withdrawn" and d["conversation_id"] == cid
        )
        assert withdrawn["why"] == "customer_left"
        status, detail = live.api("GET", f"/conversations/{cid}", sup["token"])
        assert status == 200
        assert (detail["state"], detail["abandon_reason"], detail["offer"]) == (
            "abandoned",
            "customer_left",
            None,
        )
        assert [(e["direction"], e["text"]) for e in detail["transcript"]][-2:] == [
            ("in", "deixa pra lá, já resolvi"),
            ("out", "Tudo bem, Cliente, saí da fila. Se precisar, é só chamar de novo."),
        ]
        told = wait_for(
            lambda: [m for m in live.outbox(CUSTOMER) if "saí da fila" in (m.get("text") or "")],
            30,
            "the customer told they left the queue",
        )
        assert len(told) == 1
        # nothing is left offered, queued or held anywhere
        assert client.smembers(keys.agent_offers_key(bia["id"])) == set()
        assert client.zrange(keys.PUSH_OFFERS, 0, -1) == []
        assert client.zrange(keys.queue_key(PNID, "general"), 0, -1) == []
        assert client.smembers(keys.agent_load_key(bia["id"])) == set()
        assert live.api("GET", "/me", bia["token"])[0] == 200
        status, stats = live.api("GET", "/stats?hours=1", sup["token"])
        assert status == 200 and stats["abandoned"] == 1
        assert stats["offers"]["withdrawn"] == 1
    finally:
        bias_desk.close()
        client.close()
