"""The console's Bot tab in Chromium against real processes, after customers went through the sandbox webhook
and the worker: the charts drawn, the rules the bot used, what it missed (masked), why a sentence gets its
answer, and the rules versions with a diff. Agents never see the tab.

A test cannot wait for hours to pass: the earlier hours of the chart (an older rules version, then the one
in force) are written with `botstats.write`, the worker's own writer, next to the conversations that go
through the webhook now. The tab's data-testids are listed at the top of desk/static/console.js."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import redis
import yaml
from playwright.sync_api import expect

from handover import botstats
from handover.bot import Decision, EscalationDecision
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.canvas import chart_pixels
from tests.support.processes import ROOT, Process, wait_for

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: a liveness bound for what goes through the worker, not a speed assertion

# (customer, what they write, in order): asks for a person, returns, legal threat, two misses that
# hand over because the bot could not help, and a miss carrying a CPF that must never be shown.
CUSTOMERS = [
    ("5511944440001", ["quero falar com um atendente"]),
    ("5511944440002", ["quero trocar um produto"]),
    ("5511944440003", ["oi", "quero trocar um produto"]),
    ("5511944440004", ["vou no procon"]),
    ("5511944440005", ["garantia estendida, cpf 529.982.247-25"]),
    ("5511944440006", ["garantia estendida, cpf 111.444.777-35"]),
    ("5511944440007", ["o aplicativo trava na tela inicial", "aparece uma mensagem estranha"]),
]
CPF_DIGITS = ["529", "982", "247", "111.444", "777-35"]


OLD_VERSION = "0a1b2c3d4e5f"  # the rules version before the one in force, in the earlier hours
HOURS_BACK = 20
SWITCHED_HOURS_AGO = 8


def earlier_hours(redis_url: str, version_now: str, now: float) -> None:
    """Twenty earlier hours of bot traffic: the old rules handed over about two in five conversations, the
    ones in force since eight hours ago about one in five (what the chart should make plain)."""
    tally = botstats.Tally(decisions=[], escalations=[], started=[], outcomes=[], missed=[], csat=[])
    for back in range(1, HOURS_BACK + 1):
        at = now - back * 3600
        version = OLD_VERSION if back > SWITCHED_HOURS_AGO else version_now
        conversations = 4 + (back * 5) % 7
        handed_over = (conversations * (2 if version == OLD_VERSION else 1) + back % 3) // 5
        for n in range(conversations):
            escalates = n < handed_over
            rule = (
                "intents.human_request" if escalates else ("intents.order_status", "intents.greeting")[n % 2]
            )
            decision = Decision(
                message_id=f"seed-{back}-{n}",
                action="escalate" if escalates else "reply",
                rule=rule,
                rules_version=version,
                at=at,
            )
            tally.decisions.append(decision)
            tally.started.append(decision)
            if escalates:
                tally.escalations.append(
                    EscalationDecision(
                        queue="general",
                        priority="normal",
                        reason="customer_asked",
                        rule=rule,
                        rules_version=version,
                        at=at,
                        trigger_message_id=decision.message_id,
                    )
                )
            if escalates or n % 4:  # some stay open: not every conversation has ended yet
                outcome = "escalated" if escalates else "contained"
                tally.outcomes.append(botstats.Outcome(outcome=outcome, version=version, at=at))
    client = redis.Redis.from_url(redis_url)
    with client.pipeline() as pipe:
        botstats.write(pipe, tally)
        pipe.execute()
    client.close()


def bot_answered(stack, wa_id: str, times: int) -> None:  # type: ignore[no-untyped-def]
    wait_for(lambda: len(stack.outbox(wa_id)) >= times, 30, f"{times} bot answers at {wa_id}")


def customers_talk_to_the_bot(stack) -> None:  # type: ignore[no-untyped-def]
    for wa_id, texts in CUSTOMERS:
        for n, text in enumerate(texts, start=1):
            stack.customer_says(wa_id, text, "Cliente")
            bot_answered(stack, wa_id, n)  # a customer reads the answer before writing again


def open_bot_tab(page):  # type: ignore[no-untyped-def]
    page.get_by_test_id("bot-tab").click()
    view = page.get_by_test_id("bot-view")
    expect(view).to_be_visible()
    expect(page.get_by_test_id("bot-tab")).to_have_attribute("aria-selected", "true")
    return view


# console-bot.js COLOURS
CONTAINMENT_COLOUR = (0x00, 0xA8, 0x84)
ESCALATION_COLOUR = (0xD9, 0x48, 0x0F)
VERSION_COLOUR = (0x67, 0x41, 0xD9)


def test_a_supervisor_sees_what_the_bot_did_and_missed_and_asks_why(browser, stack, redis_url):
    sara = stack.add_agent("Sara Supervisora", ["general"], role="supervisor")
    customers_talk_to_the_bot(stack)
    live = stack.api("GET", "/bot/stats?hours=24", sara["token"])[1]
    # now: seven conversations, three handed over (a person, procon, the bot could not help twice in a row)
    assert (live["totals"]["conversations"], live["totals"]["escalations"]) == (7, 3)
    version_now = live["versions"][0]["version"]
    earlier_hours(redis_url, version_now, time.time())
    stats = stack.api("GET", "/bot/stats?hours=24", sara["token"])[1]
    totals = stats["totals"]

    page = new_page(browser)
    sign_in(page, stack.base, sara["token"])
    view = open_bot_tab(page)

    # totals as the API has them; three misses (the two CPFs, and the first of the two in a row: the
    # second is the handover), none of them from the earlier hours
    expect(page.get_by_test_id("bot-kpi-escalation")).to_contain_text(
        f"{totals['ended'] - totals['contained']} de {totals['ended']} conversas encerradas foram para uma pessoa"
    )
    expect(page.get_by_test_id("bot-kpi-unrecognized").locator(".kpi-value")).to_have_text("3")

    # the chart: a canvas of real size with the escalation line drawn on it, and the version in force named
    canvas = page.locator("[data-testid=bot-chart] canvas")
    expect(canvas).to_have_count(1)
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    wait_for(
        lambda: chart_pixels(page, "bot-chart", ESCALATION_COLOUR) > 100, 10, "the escalation line drawn"
    )
    wait_for(
        lambda: chart_pixels(page, "bot-chart", CONTAINMENT_COLOUR) > 100, 10, "the containment line drawn"
    )
    # the rules version change is marked on the time axis, and named under the chart
    wait_for(lambda: chart_pixels(page, "bot-chart", VERSION_COLOUR) > 50, 10, "the version markers drawn")
    versions = page.get_by_test_id("bot-chart-versions")
    expect(versions).to_contain_text(OLD_VERSION)
    expect(versions).to_contain_text(version_now[:12])

    # escalations by reason, and the rules the bot used with their counts
    asked = stats["escalations_by_reason"]["customer_asked"]
    reason = "[data-testid=bot-reason][data-reason={}] .bar-count"
    expect(page.locator(reason.format("customer_asked"))).to_have_text(str(asked))
    expect(page.locator(reason.format("churn_risk"))).to_have_text("1")  # procon, only now
    returns = page.locator("[data-testid=bot-rule][data-rule='intents.returns']")
    expect(returns.locator("td").first).to_have_text("2")  # decisions: both customers who asked
    expect(page.locator("[data-testid=bot-rule][data-rule='intents.human_request']")).to_be_visible()

    # the inbox: both CPFs grouped under one masked text; no digit of either anywhere in the tab
    unrecognized = page.get_by_test_id("bot-unrecognized")
    group = unrecognized.get_by_test_id("bot-group").filter(has_text="garantia estendida cpf #")
    expect(group).to_have_attribute("data-count", "2")
    expect(page.get_by_test_id("bot-could-not-help")).to_contain_text("mensagem estranha")
    tab_text = view.inner_text()
    for digits in CPF_DIGITS:
        assert digits not in tab_text
    screenshot(page, "bot-tab")

    # the 7-day view: same data, six-hour points, still drawn
    page.get_by_test_id("bot-range-168").click()
    expect(page.get_by_test_id("bot-range-168")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("bot-range-24")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("bot-chart-title")).to_contain_text("a cada 6 horas")
    wait_for(lambda: chart_pixels(page, "bot-chart", ESCALATION_COLOUR) > 50, 10, "the 7-day chart drawn")
    screenshot(page, "bot-tab-7-days")
    page.get_by_test_id("bot-range-24").click()
    expect(page.get_by_test_id("bot-chart-title")).to_contain_text("por hora")

    # explain, with the keyboard: the rule that wins for a legal threat, its words, where it would go
    box_input = page.get_by_test_id("bot-explain-input")
    box_input.fill("vou reclamar no procon amanhã")
    box_input.press("Enter")
    expect(page.get_by_test_id("bot-explain-rule")).to_have_text("escalation.legal_or_churn")
    expect(page.get_by_test_id("bot-explain-action")).to_have_text("escalate")
    expect(page.get_by_test_id("bot-explain-matched")).to_contain_text("procon")
    expect(page.get_by_test_id("bot-explain-escalation")).to_contain_text("retention")
    page.get_by_test_id("bot-explain").scroll_into_view_if_needed()
    group.get_by_test_id("bot-show-conversations").click()
    expect(group.get_by_test_id("bot-show-conversations")).to_have_attribute("aria-expanded", "true")
    screenshot(page, "bot-tab-inbox-explain")

    # "show conversations" opens one in the conversation view, read only, with a way back; by keyboard
    links = group.get_by_test_id("bot-open-conversation")
    expect(links).to_have_count(2)
    links.first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("conversation-view")).to_be_visible()
    expect(page.get_by_test_id("readonly-notice")).to_be_visible()
    expect(page.get_by_test_id("transcript")).to_contain_text("garantia estendida")
    expect(page.get_by_test_id("reply-input")).to_have_count(0)
    screenshot(page, "bot-tab-conversation")
    expect(page.get_by_test_id("back-to-bot")).to_be_focused()
    page.keyboard.press("Enter")
    expect(view).to_be_visible()
    expect(group.get_by_test_id("bot-group-conversations")).to_be_visible()  # still open, as it was left
    expect(links.first).to_be_focused()  # the keyboard is back where it was


def test_a_fresh_desk_says_there_is_nothing_yet_and_a_failing_part_says_so_alone(browser, stack):
    sara = stack.add_agent("Sara Supervisora", ["general"], role="supervisor")
    page = new_page(browser)
    # this server answering 404 for the inbox (as one without the route would) and 500 for explain
    page.route("**/api/v1/bot/unrecognized*", lambda route: route.fulfill(status=404, body="404: Not Found"))
    page.route(
        "**/api/v1/bot/explain",
        lambda route: route.fulfill(
            status=500,
            content_type="application/json",
            body='{"error": {"code": "internal", "message": "<b>boom</b>"}}',
        ),
    )
    sign_in(page, stack.base, sara["token"])
    open_bot_tab(page)

    # no conversation yet: the chart has its axes and says why it has no line; every list says it is empty
    expect(page.locator("[data-testid=bot-chart] canvas")).to_have_count(1)
    expect(page.get_by_test_id("bot-chart").locator("xpath=..")).to_contain_text(
        "Nenhuma conversa neste período"
    )
    expect(page.get_by_test_id("bot-kpi-containment").locator(".kpi-value")).to_have_text("—")
    expect(page.get_by_test_id("bot-reasons")).to_have_text("Nenhuma transferência neste período.")
    expect(page.get_by_test_id("bot-rules")).to_have_text("Nenhuma decisão neste período.")
    # the missing route: that part alone says so
    expect(page.get_by_test_id("bot-inbox")).to_have_text("Ainda não disponível neste servidor.")
    # a server error is shown as the server said it, as text
    page.get_by_test_id("bot-explain-submit").click()
    expect(page.get_by_test_id("bot-explain-result")).to_have_text("Escreva uma frase.")  # nothing typed
    page.get_by_test_id("bot-explain-input").fill("oi")
    page.get_by_test_id("bot-explain-submit").click()
    error = page.get_by_test_id("bot-explain-result").get_by_test_id("bot-error")
    expect(error).to_have_text("Erro: <b>boom</b>")
    expect(page.get_by_test_id("bot-explain-result").locator("b")).to_have_count(0)
    screenshot(page, "bot-tab-empty")


def test_an_agent_has_no_bot_tab(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    page = new_page(browser)
    sign_in(page, stack.base, ana["token"])
    expect(page.get_by_test_id("supervisor-tab")).to_have_count(0)
    expect(page.get_by_test_id("bot-tab")).to_have_count(0)
    expect(page.get_by_test_id("bot-view")).to_have_count(0)
    status, body = stack.api("GET", "/bot/stats?hours=24", ana["token"])
    assert status == 403 and body["error"]["code"] == "not_yours"


def test_a_supervisor_sees_which_rules_version_runs_where_diffs_it_and_reads_the_audit(browser, stack):
    sara = stack.add_agent("Sara Supervisora", ["general"], role="supervisor")

    def rules_now() -> dict:  # type: ignore[type-arg]
        return stack.api("GET", "/rules", sara["token"])[1]  # type: ignore[no-any-return]

    before = wait_for(lambda: rules_now()["current"], 30, "the processes to report their rules version")
    # ops add a synonym to the served file and reload it: a second version, every process on it
    served = stack.workdir / "rules.yaml"  # HANDOVER_RULES
    rules = yaml.safe_load(served.read_text())
    returns = next(intent for intent in rules["intents"] if intent["name"] == "returns")
    returns["match"]["any"].append("destrocar")
    served.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    cli(stack, "rules", "reload")
    after = wait_for(
        lambda: (lambda r: r if r["current"] != before and r["on_current"] == r["live"] else None)(
            rules_now()
        ),
        30,
        "every process on the new version",
    )

    page = new_page(browser)
    sign_in(page, stack.base, sara["token"])
    open_bot_tab(page)
    expect(page.get_by_test_id("bot-rules-live")).to_contain_text(
        f"{after['live']}/{after['live']} processos na versão {after['current']}"
    )
    expect(page.get_by_test_id("bot-process")).to_have_count(after["live"])
    expect(page.locator(f"[data-testid=bot-version][data-version='{after['current']}']")).to_contain_text(
        "atual"
    )
    old = page.locator(f"[data-testid=bot-version][data-version='{before}']")
    old.get_by_test_id("bot-diff-open").click()
    diff = page.get_by_test_id("bot-diff")
    expect(diff.locator(".diff-line.add").filter(has_text="destrocar")).to_have_count(1)
    expect(diff.locator(".diff-line.del").filter(has_text="destrocar")).to_have_count(0)
    reloads = page.locator("[data-testid=bot-audit-entry][data-action='rules.reload']")
    expect(reloads.first).to_be_visible()
    page.get_by_test_id("bot-versions").scroll_into_view_if_needed()
    screenshot(page, "bot-tab-versions")
    page.get_by_test_id("bot-diff-close").click()
    expect(diff).to_be_hidden()


def cli(stack, *args: str) -> str:  # type: ignore[no-untyped-def]
    """`handover ARGS...` with the stack's environment, as ops would run it; its standard output."""
    env = Process([], stack.env, stack.workdir / "cli.log").env
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout
