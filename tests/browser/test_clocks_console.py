"""The agent reply clock in the console, in Chromium against real processes (redis-server, `handover serve`,
`handover worker`): a customer left unanswered is marked, with how long they have waited, in the agent's
list and conversation and in the supervisor's view; when it goes back to the queue, the agent's console
says why. The sweep runs from the test on a FixedClock set ahead (handover/clockwatch.py), as the worker's
periodic job would a minute later; the conversation's assignment is dated back by as much, so the waits read
true."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml
from playwright.sync_api import expect

from handover import keys
from handover.clock import FixedClock
from handover.clockwatch import ClockWatch
from handover.rules.loader import load_rules
from handover.store import Store
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.processes import wait_for
from tests.support.stack import Stack, always_open_rules

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: a liveness bound for what goes through the worker, not a speed assertion
ASK = "quero falar com um atendente"
WA = "5511977770001"


def clock_rules(workdir: Path) -> Path:
    """The shipped rules, open at all hours, with a short requeueing reply clock on `general`."""
    rules = yaml.safe_load(always_open_rules(workdir).read_text())
    rules["queues"]["general"].update(
        {"agent_reply_seconds": 60, "on_agent_silence": "requeue", "requeue_after_seconds": 120}
    )
    path = workdir / "clock-rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return path


@pytest.fixture
def clock_stack(redis_url: str, tmp_path: Path) -> Iterator[tuple[Stack, Path]]:
    rules = clock_rules(tmp_path)
    running = Stack(redis_url, tmp_path).start(HANDOVER_RULES=str(rules))
    try:
        yield running, rules
    finally:
        running.stop()


def test_a_silent_agent_is_marked_for_them_and_supervisors_and_told_why_it_left(browser, clock_stack):
    stack, rules = clock_stack
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    store = Store(client)
    clock = FixedClock(0.0)  # set ahead of the wall clock before each sweep
    watch = ClockWatch(store, lambda *_: load_rules(rules), int(stack.env["HANDOVER_PARTITIONS"]), clock)
    ana = stack.add_agent("Ana Souza", ["general"])
    sol = stack.add_agent("Sol Lima", ["general"], role="supervisor")

    stack.customer_says(WA, ASK, name="Maria Silva")
    wait_for(
        lambda: any(c["wa_id"] == WA for c in stack.api("GET", "/conversations", ana["token"])[1]),
        30,
        "queued",
    )
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    expect(desk.get_by_test_id("customer-name")).to_have_text("Maria Silva", timeout=LIVE)
    expect(desk.get_by_test_id("agent-silent")).to_have_count(0)

    [cid] = client.smembers(keys.agent_load_key(ana["id"]))
    taken_at = float(client.hget(keys.conversation_key(cid), "assigned_at") or 0) - 75  # taken 75 s ago
    client.hset(keys.conversation_key(cid), "assigned_at", str(taken_at))

    supervisor = new_page(browser)
    sign_in(supervisor, stack.base, sol["token"])
    supervisor.get_by_test_id("supervisor-tab").click()
    expect(supervisor.locator(f"[data-testid=supervisor-conversation][data-id='{cid}']")).to_be_visible(
        timeout=LIVE
    )

    clock.now = taken_at + 60

    assert watch.sweep()["alert"] == 1
    row = desk.get_by_test_id("conversation").filter(has=desk.get_by_test_id("agent-silent"))
    expect(row).to_have_count(1, timeout=LIVE)
    expect(row.get_by_test_id("agent-silent")).to_contain_text("Sem resposta há 1 min")
    header = desk.get_by_test_id("conversation-view").get_by_test_id("agent-silent")
    expect(header).to_contain_text("Sem resposta há 1 min")
    expect(
        desk.get_by_test_id("toast").filter(has_text="Maria Silva espera a sua resposta há 1 min")
    ).to_be_visible()
    screenshot(desk, "clocks-agent-silent-agent")

    # the supervisor, watching: told at once, and the row says how long the customer has waited
    expect(supervisor.get_by_test_id("toast")).to_contain_text(
        "Maria Silva espera a resposta de Ana Souza há 1 min", timeout=LIVE
    )
    listed = supervisor.locator(f"[data-testid=supervisor-conversation][data-id='{cid}']")
    expect(listed.get_by_test_id("agent-silent")).to_contain_text("Sem resposta há 1 min", timeout=LIVE)
    listed.scroll_into_view_if_needed()
    screenshot(supervisor, "clocks-agent-silent-supervisor")

    clock.now = taken_at + 120

    assert watch.sweep()["requeue"] == 1
    why = desk.get_by_test_id("toast").filter(has_text="voltou para a fila")
    expect(why).to_contain_text(
        "A conversa com Maria Silva voltou para a fila: o cliente ficou 1 min sem resposta."
    )
    expect(desk.get_by_test_id("toast").filter(has_text="não está mais com você")).to_have_count(0)
    expect(desk.get_by_test_id("conversation")).to_have_count(0)
    screenshot(desk, "clocks-requeued-agent")
    # the supervisor sees it waiting again, the mark gone with the agent who left it unanswered
    waiting = supervisor.locator(f"[data-testid=supervisor-conversation][data-id='{cid}']")
    expect(waiting).to_have_attribute("data-state", "queued", timeout=LIVE)
    expect(waiting.get_by_test_id("agent-silent")).to_have_count(0)
    said = [m.get("text") for m in stack.outbox(WA)]
    assert "Desculpe a demora, Maria Silva. Outra pessoa da equipe vai continuar o seu atendimento." in said
