"""A scripted day of the contact centre on real processes (redis-server, `handover serve`, `handover
worker`), the desk over HTTP: ten conversations whose service level, abandonment rate and first contact
resolution are known, read back from GET /api/v1/stats and /metrics.

- four customers ask for a person (general, SLA 120 s) and are taken at once: within the SLA;
- two threaten to go to Procon (retention, SLA 1 s in this test's rules) and are taken after a 1.5 s wait:
  outside the SLA (the only wall-clock wait here, so the real processes' own clocks cross an SLA);
- two ask for a person from a message sent almost 24 hours ago: their window closes while they wait and
  `watch_windows` (what the workers run) abandons them;
- four of the taken are resolved; one of those customers writes again (reopen_within_seconds is 0 here, so
  it is a new conversation: within fcr_days, the resolution did not settle it);
- one more customer is helped by the bot alone (contained: the Bot tab's FCR, not the agents').

Service level 4 / 6, abandonment 2 / (2 + 6), FCR 1 - 1 / 4 with all 4 still pending (fcr_days not over)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml

from handover.abandon import watch_windows
from handover.message import CustomerRef
from handover.rules.loader import load_rules
from handover.store import Store
from tests.support.processes import wait_for
from tests.support.stack import Stack, always_open_rules
from tests.support.webhook import SECRET, body, signed, text_message
from webhooks.sandbox import SANDBOX_PHONE_NUMBER_ID

pytestmark = pytest.mark.integration

LIVE = 30  # seconds: a liveness bound for the worker, not a speed assertion
QUICK = [f"55119100000{n:02d}" for n in range(1, 5)]  # general, taken at once
LATE = [f"55119200000{n:02d}" for n in range(1, 3)]  # retention, taken after its 1 s SLA
CLOSING = [f"55119300000{n:02d}" for n in range(1, 3)]  # their window closes while they wait
CONTAINED = "5511940000001"


def day_rules(workdir: Path) -> Path:
    rules = yaml.safe_load(always_open_rules(workdir).read_text())
    rules["queues"]["retention"]["sla_seconds"] = 1
    rules["reopen_within_seconds"] = 0  # writing again after a resolve starts a new conversation
    path = workdir / "day-rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return path


@pytest.fixture
def day(redis_url: str, tmp_path: Path) -> Iterator[tuple[Stack, Path]]:
    rules = day_rules(tmp_path)
    stack = Stack(redis_url, tmp_path).start(HANDOVER_RULES=str(rules), WHATSAPP_APP_SECRET=SECRET.decode())
    try:
        yield stack, rules
    finally:
        stack.stop()


def current(store: Store, wa_id: str):  # type: ignore[no-untyped-def]
    return store.current_conversation(CustomerRef(phone_number_id=SANDBOX_PHONE_NUMBER_ID, wa_id=wa_id))


def in_state(store: Store, wa_id: str, state: str):  # type: ignore[no-untyped-def]
    def check():  # type: ignore[no-untyped-def]
        conversation = current(store, wa_id)
        return conversation if conversation is not None and conversation.state == state else None

    return wait_for(check, LIVE, f"{wa_id} {state}")


def says_long_ago(stack: Stack, wa_id: str, text: str, seconds_ago: float) -> None:
    """A message WhatsApp stamped `seconds_ago`, through the signed webhook as Meta would deliver it."""
    message = text_message(f"wamid.old.{wa_id}", wa_id, text, int(time.time() - seconds_ago))
    raw, headers = signed(body([message], pnid=SANDBOX_PHONE_NUMBER_ID))
    request = urllib.request.Request(f"{stack.base}/webhook", data=raw, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def take_next(stack: Stack, token: str) -> str:
    status, taken = stack.api("POST", "/queues/next", token)
    assert status == 200, taken
    return str(taken["id"])


def test_a_scripted_day_gives_the_known_service_level_abandonment_and_fcr(day, redis_url):
    stack, rules_path = day
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    ana = stack.add_agent("Ana", ["general", "retention"], capacity=10)
    sara = stack.add_agent("Sara", ["general"], role="supervisor")

    for wa_id in QUICK:
        stack.customer_says(wa_id, "quero falar com um atendente")
        in_state(store, wa_id, "queued")
    quick = [take_next(stack, ana["token"]) for _ in QUICK]  # each within a second or so: within 120 s
    for wa_id in LATE:
        stack.customer_says(wa_id, "vou no procon")
        in_state(store, wa_id, "queued")
    time.sleep(1.5)  # past retention's 1 s SLA
    late = [take_next(stack, ana["token"]) for _ in LATE]
    assert {current(store, w).queue for w in LATE} == {"retention"}

    for wa_id in CLOSING:  # asked for a person 24 hours minus 2 seconds ago
        says_long_ago(stack, wa_id, "quero falar com um atendente", 24 * 3600 - 2)
        in_state(store, wa_id, "queued")
    time.sleep(2.5)  # their windows close
    watch_windows(store, load_rules(rules_path))  # what the workers run every minute
    for wa_id in CLOSING:
        in_state(store, wa_id, "abandoned")

    for conversation_id in [*quick[:3], late[0]]:
        status, _ = stack.api("POST", f"/conversations/{conversation_id}/resolve", ana["token"])
        assert status == 200
    stack.customer_says(QUICK[0], "oi, voltei: ainda não chegou")  # a new conversation: came back
    wait_for(lambda: current(store, QUICK[0]).id != quick[0], LIVE, "the customer's new conversation")
    stack.customer_says(CONTAINED, "quero trocar um produto")
    wait_for(lambda: len(stack.outbox(CONTAINED)) >= 1, LIVE, "the bot's answer")
    stack.customer_says(CONTAINED, "obrigado")
    wait_for(lambda: current(store, CONTAINED).bot_outcome == "contained", LIVE, "the bot contained it")

    status, stats = stack.api("GET", "/stats?hours=24", sara["token"])
    assert status == 200, stats
    assert stats["service_level"] == {"met": 4, "missed": 2, "rate": 0.6667}
    assert stats["abandonment"]["abandoned"] == 2 and stats["abandonment"]["taken"] == 6
    assert stats["abandonment"]["rate"] == 0.25
    closed = stats["abandonment"]["by_reason"]["window_closed"]
    assert closed["count"] == 2 and closed["median_wait_seconds"] is not None
    assert stats["abandonment"]["by_reason"]["customer_left"]["count"] == 0
    assert stats["fcr"] == {"resolved": 4, "came_back": 1, "pending": 3, "rate": 0.75}
    assert stats["transfers_per_conversation"] == {"0": 4, "1": 0, "2": 0, "3+": 0}
    assert stats["agents"][ana["id"]]["fcr"]["rate"] == 0.75
    general, retention = stats["queues"]["general"], stats["queues"]["retention"]
    assert (general["service_level"]["rate"], retention["service_level"]["rate"]) == (1.0, 0.0)
    assert (general["abandonment"]["rate"], general["fcr"]["rate"]) == (round(2 / 6, 4), round(2 / 3, 4))
    assert (retention["fcr"]["resolved"], retention["handle"]["count"]) == (1, 1)
    assert sum(h["taken"] for h in stats["by_hour"]) == 6
    assert sum(h["resolved"] for h in stats["by_hour"]) == 4

    status, only = stack.api("GET", "/stats?hours=24&queue=retention", sara["token"])
    assert status == 200 and only["queue"] == "retention" and list(only["queues"]) == ["retention"]
    assert only["service_level"] == {"met": 0, "missed": 2, "rate": 0.0}
    assert stack.api("GET", "/stats?queue=nowhere", sara["token"])[0] == 404
    assert stack.api("GET", "/stats", ana["token"])[0] == 403

    status, bot = stack.api("GET", "/bot/stats?hours=24", sara["token"])
    assert status == 200 and [v["contained"] for v in bot["fcr_by_version"]] == [1]
    assert bot["fcr_by_version"][0]["pending"] == 1

    with urllib.request.urlopen(f"{stack.base}/metrics", timeout=10) as answer:
        metrics = answer.read().decode()
    assert 'handover_sla_met_total{queue="general"} 4.0' in metrics
    assert 'handover_sla_missed_total{queue="retention"} 2.0' in metrics
    assert 'handover_abandoned_by_reason_total{reason="window_closed"} 2.0' in metrics
    assert "handover_fcr_came_back_total 1.0" in metrics
    client.close()
