"""Push queues in the console, in Chromium against real processes (redis-server, `handover serve`,
`handover worker` with its assigner): the offer rings the agent's desk, accepting opens the conversation,
and an offer nobody answers moves on to the next agent, by itself.

The rules are the shipped ones with `general` made a push queue (and every queue open at all hours).
Headless Chromium plays no sound: the offer box counts the rings it sounded (`data-rings`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.processes import wait_for
from tests.support.stack import Stack, always_open_rules

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: a liveness bound for what goes through the worker, not a speed assertion
ASK = "quero falar com um atendente"


def push_rules(workdir: Path, **general: Any) -> Path:
    """The shipped rules, open at all hours, with `general` pushing conversations to agents."""
    rules = yaml.safe_load(always_open_rules(workdir).read_text())
    rules["queues"]["general"].update({"assignment": "push", **general})
    path = workdir / "push-rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return path


@pytest.fixture
def push_stack(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """Starts a stack whose `general` queue pushes with the given settings (one per test)."""
    started: list[Stack] = []

    def start(**general: Any) -> Stack:
        running = Stack(redis_url, tmp_path)
        started.append(running)
        return running.start(HANDOVER_RULES=str(push_rules(tmp_path, **general)))

    yield start
    for running in started:
        running.stop()


def offered_to(stack: Stack, agent: dict[str, str], wa_id: str) -> dict[str, Any]:
    """The conversation of `wa_id` once the assigner has offered it to `agent` (read with their token)."""

    def found() -> dict[str, Any] | None:
        listed = stack.api("GET", "/conversations?state=queued", agent["token"])[1]
        return next(
            (
                c
                for c in listed
                if c["wa_id"] == wa_id and c["offer"] and c["offer"]["to_agent"] == agent["id"]
            ),
            None,
        )

    return wait_for(found, 30, f"{wa_id} to be offered to {agent['id']}")  # type: ignore[no-any-return]


def conversation(stack: Stack, cid: str, token: str) -> dict[str, Any]:
    status, body = stack.api("GET", f"/conversations/{cid}", token)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def test_an_offer_rings_the_desk_and_accepting_opens_the_conversation(browser, push_stack):
    stack = push_stack(offer_timeout_seconds=30)
    ana = stack.add_agent("Ana Souza", ["general"])
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    desk.get_by_test_id("sound-toggle").click()  # the agent turns the sound on (a gesture unlocks audio)
    expect(desk.get_by_test_id("sound-toggle")).to_have_attribute("aria-pressed", "true")

    # declined: it goes back to the queue (and would go on to the next agent, were there one)
    stack.customer_says("5511987101001", ASK, "Bia Nunes")
    first = offered_to(stack, ana, "5511987101001")
    offer = desk.locator(f"[data-testid=offer][data-id='{first['id']}']")
    expect(offer).to_contain_text("Bia Nunes", timeout=LIVE)
    offer.get_by_test_id("offer-decline").click()
    expect(offer).to_have_count(0)
    expect(desk.get_by_test_id("toast").filter(has_text="Recusada")).to_contain_text("próxima pessoa")
    declined = conversation(stack, first["id"], ana["token"])
    assert (declined["state"], declined["offer"], declined["agent_id"]) == ("queued", None, None)

    # offered: shown at the top of the left column, ringing, with the queue and a countdown
    stack.customer_says("5511987101002", ASK, "Caio Reis")
    second = offered_to(stack, ana, "5511987101002")
    box = desk.get_by_test_id("offer-box")
    offer = desk.locator(f"[data-testid=offer][data-id='{second['id']}']")
    expect(offer).to_contain_text("Caio Reis", timeout=LIVE)
    expect(offer).to_have_attribute("data-kind", "assignment")
    expect(offer).to_contain_text("Nova conversa para você")
    expect(offer.get_by_test_id("offer-queue")).to_have_text("Fila: atendimento")
    expect(offer.get_by_test_id("offer-expires")).to_contain_text("expira em")
    expect(box).to_have_attribute("data-ringing", "true")
    rang = int(box.get_attribute("data-rings") or "0")
    assert rang >= 1, "the sound is on: the offer rang"
    expect(desk).to_have_title("(1) Atendimento")
    expect(offer.get_by_test_id("offer-accept")).not_to_be_focused()  # the offer never takes the focus
    screenshot(desk, "console-push-offer")
    desk.reload()  # still there: the desk reads the offers to it from the API (GET /me/offers) on load
    expect(offer).to_contain_text("Caio Reis")
    expect(desk.get_by_test_id("live-status")).to_have_attribute("data-state", "live")

    # accepted from the keyboard: it is hers, open, the reply box ready
    offer.get_by_test_id("offer-accept").focus()
    desk.keyboard.press("Enter")
    expect(desk.get_by_test_id("packet")).to_contain_text("Caio Reis")
    expect(desk.get_by_test_id("reply-input")).to_be_focused()
    expect(box).to_be_hidden()
    expect(box).to_have_attribute("data-ringing", "false")
    expect(desk.get_by_test_id("conversation")).to_have_count(1)
    expect(desk.get_by_test_id("conversation-load")).to_have_text("1/3")
    expect(desk).to_have_title("Atendimento")
    held = conversation(stack, second["id"], ana["token"])
    assert (held["state"], held["agent_id"], held["offer"]) == ("assigned", ana["id"], None)
    screenshot(desk, "console-push-accepted")


def test_an_offer_nobody_answers_moves_on_to_the_next_agent(browser, push_stack):
    stack = push_stack(offer_timeout_seconds=4, away_after_missed_offers=1)
    ana = stack.add_agent("Ana Souza", ["general"])
    bruno = stack.add_agent("Bruno Costa", ["general"], status="away")  # not yet: Ana is offered first
    supervisor = stack.add_agent("Sara Supervisora", ["general"], role="supervisor", status="away")
    first = new_page(browser)
    sign_in(first, stack.base, ana["token"])
    second = new_page(browser)
    sign_in(second, stack.base, bruno["token"])

    stack.customer_says("5511987102001", ASK, "Davi Rocha")
    cid = offered_to(stack, ana, "5511987102001")["id"]
    offer = first.locator(f"[data-testid=offer][data-id='{cid}']")
    expect(offer).to_contain_text("Davi Rocha", timeout=LIVE)
    box = first.get_by_test_id("offer-box")
    expect(box).to_have_attribute("data-ringing", "true")
    expect(box).to_have_attribute("data-rings", "0")  # her sound is off: it shows, it does not ring
    second.get_by_test_id("presence").select_option("available")  # Bruno is back meanwhile

    # Ana lets it expire: it leaves her desk, says why, and she is set away (one miss is the limit here)
    expect(offer).to_have_count(0, timeout=LIVE)
    expect(first.get_by_test_id("toast").filter(has_text="expirou")).to_contain_text("outra pessoa")
    expect(first.get_by_test_id("toast").filter(has_text="ausente")).to_be_visible()
    expect(first.get_by_test_id("presence")).to_have_value("away", timeout=LIVE)
    screenshot(first, "console-push-offer-expired")

    # ... and it rings at Bruno's, who takes it
    moved = second.locator(f"[data-testid=offer][data-id='{cid}']")
    expect(moved).to_contain_text("Davi Rocha", timeout=LIVE)
    expect(first.get_by_test_id("offer")).to_have_count(0)
    screenshot(second, "console-push-offer-next-agent")
    moved.get_by_test_id("offer-accept").click()
    expect(second.get_by_test_id("packet")).to_contain_text("Davi Rocha")
    held = conversation(stack, cid, bruno["token"])
    assert (held["state"], held["agent_id"]) == ("assigned", bruno["id"])
    status, body = stack.api("GET", f"/conversations/{cid}", ana["token"])
    assert status == 403, body  # not hers, and no longer offered to her

    # the supervisor sees it in the assignment figures of the day
    boss = new_page(browser)
    sign_in(boss, stack.base, supervisor["token"])
    boss.get_by_test_id("supervisor-tab").click()
    figures = boss.get_by_test_id("supervisor-assignment")
    expect(figures.get_by_test_id("kpi-offers")).to_contain_text("2")
    expect(figures.get_by_test_id("kpi-offers-accepted")).to_contain_text("1")
    expect(figures.get_by_test_id("kpi-offers-expired")).to_contain_text("1")
    expect(figures.get_by_test_id("kpi-time-to-assign")).to_contain_text("atribuições: 1")
    agents = boss.get_by_test_id("supervisor-agents")
    ana_row = agents.locator(f"[data-testid=supervisor-agent][data-agent='{ana['id']}']")
    expect(ana_row).to_contain_text("ofertas recusadas/expiradas: 0/1")
    expect(ana_row).to_have_attribute("data-status", "away")
    bruno_row = agents.locator(f"[data-testid=supervisor-agent][data-agent='{bruno['id']}']")
    expect(bruno_row).to_contain_text("atribuídas: 1")
    stats = stack.api("GET", "/stats?hours=1", supervisor["token"])[1]
    assert stats["offers"] == {
        "offered": 2,
        "accepted": 1,
        "declined": 0,
        "expired": 1,
        "withdrawn": 0,
    }
    screenshot(boss, "console-push-supervisor")
