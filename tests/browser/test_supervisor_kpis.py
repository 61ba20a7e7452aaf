"""The supervisor tab's contact-centre KPIs in Chromium against real processes: the figures (service level,
abandonment rate, first contact resolution, transfers, reply breaches) as GET /api/v1/stats has them, the
chart by hour drawn, the tables per queue and per agent, the queue picker, and the Bot tab's FCR per rules
version.

A test cannot wait for hours to pass: the earlier hours are written by the real scripts and writers (claims
and resolutions through `Lifecycle` at those hours, customers coming back through `fcr.write`, abandonment
through `kpis.abandoned`), next to a conversation that goes through the webhook, worker and desk now. The
tab's data-testids are listed at the top of desk/static/console.js."""

from __future__ import annotations

import time

import pytest
import redis
from playwright.sync_api import expect

from handover import fcr, kpis
from handover.assignment.queues import enqueue
from handover.clock import FixedClock
from handover.conversation import Conversation, ConversationState
from handover.lifecycle import Lifecycle
from handover.message import CustomerRef
from handover.rules.model import Priority
from handover.store import Store
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.canvas import chart_pixels
from tests.support.packets import packet_with_transfers
from tests.support.processes import wait_for

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: a liveness bound for what goes through the worker, not a speed assertion
HOURS_BACK = 12
SLAS = {"general": 120, "billing": 300, "retention": 60, "senior": 60}
SERVICE_COLOUR = (0x00, 0xA8, 0x84)  # console-kpis.js COLOURS
ABANDONMENT_COLOUR = (0xD9, 0x48, 0x0F)
FCR_COLOUR = (0x1C, 0x7E, 0xD6)


def waiting(client: redis.Redis, n: int, queue: str, since: float) -> str:
    conversation = Conversation.start(CustomerRef(phone_number_id="PN", wa_id=f"55118{n:08d}"), since)
    conversation.state, conversation.queue, conversation.priority = ConversationState.QUEUED, queue, "normal"
    with client.pipeline(transaction=True) as pipe:
        Store(client).save_conversation(pipe, conversation)
        enqueue(pipe, "PN", queue, conversation.id, Priority.NORMAL, since)
        pipe.execute()
    return conversation.id


def earlier_hours(redis_url: str, ana: str, bia: str, now: float) -> None:
    """Twelve earlier hours: each hour a few claims (some past the SLA), resolutions (some with a transfer),
    a customer or two coming back, and an abandonment now and then."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    clock = FixedClock(now)
    lifecycle = Lifecycle(client, clock, slas=lambda _: SLAS)
    n = 0
    for back in range(HOURS_BACK, 0, -1):
        at = now - back * 3600
        for k in range(3 + back % 3):
            n += 1
            agent = ana if k % 2 == 0 else bia
            queue = "general" if k < 3 else "billing"
            late = (k + back) % 4 == 0
            cid = waiting(client, n, queue, at - (400 if late else 40))
            clock.now = at
            assert lifecycle.claim(agent, 100, [("PN", queue)]) is not None
            transfers = (n % 5 == 0) + (n % 7 == 0)
            with client.pipeline() as pipe:  # the packet, with the transfers it had and what they counted
                Store(client).save_packet(pipe, packet_with_transfers(cid, queue, transfers, at + 100))
                for _ in range(transfers):
                    kpis.tally(pipe, "transfers:cold", at + 100)
                pipe.execute()
            clock.now = at + 300
            lifecycle.finish(agent, cid, ConversationState.RESOLVED)
        with client.pipeline() as pipe:
            if back % 3 == 0:
                fcr.write(pipe, [fcr.Return("agent", int((at + 300) // 3600), "general", ana)])
            if back % 4 == 1:
                kpis.abandoned(pipe, "general", "customer_left", 90 + back * 10, at)
            if back == 5:
                kpis.abandoned(pipe, "billing", "window_closed", 3600, at)
                kpis.tally(pipe, "agent_silent", at, queue="general", agent_id=bia)
            pipe.execute()
    client.close()


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)}%"


def test_a_supervisor_reads_service_level_abandonment_and_fcr_by_hour_queue_and_agent(
    browser, stack, redis_url
):
    sara = stack.add_agent("Sara Supervisora", ["general", "billing"], role="supervisor")
    ana = stack.add_agent("Ana Agente", ["general", "billing"], capacity=5)
    bia = stack.add_agent("Bia Agente", ["general", "billing"], capacity=5)
    earlier_hours(redis_url, ana["id"], bia["id"], time.time())
    # now, through the webhook, the worker and the desk: one taken and resolved, one contained by the bot
    stack.customer_says("5511977770001", "quero falar com um atendente")
    wait_for(
        lambda: stack.api("GET", "/queues", ana["token"])[1][0]["waiting"] == 1, 20, "the customer queued"
    )
    status, taken = stack.api("POST", "/queues/next", ana["token"])
    assert status == 200
    assert stack.api("POST", f"/conversations/{taken['id']}/resolve", ana["token"])[0] == 200
    stack.customer_says("5511977770002", "quero trocar um produto")
    wait_for(lambda: len(stack.outbox("5511977770002")) >= 1, 20, "the bot's answer")
    stack.customer_says("5511977770002", "obrigado")
    contained = lambda: stack.api("GET", "/bot/stats?hours=24", sara["token"])[1]["fcr_by_version"]  # noqa: E731
    wait_for(contained, 20, "the bot's containment counted")
    stats = stack.api("GET", "/stats?hours=24", sara["token"])[1]
    assert stats["service_level"]["missed"] > 0 and stats["fcr"]["came_back"] == 4

    page = new_page(browser)
    sign_in(page, stack.base, sara["token"])
    page.get_by_test_id("supervisor-tab").click()
    panel = page.get_by_test_id("supervisor-centre")
    expect(panel).to_be_visible()

    # the figures, as the API has them
    service = page.get_by_test_id("kpi-service-level")
    expect(service.locator(".kpi-value")).to_have_text(percent(stats["service_level"]["rate"]))
    met, missed = stats["service_level"]["met"], stats["service_level"]["missed"]
    expect(service).to_contain_text(f"{met} de {met + missed} atendidas dentro do SLA")
    expect(page.get_by_test_id("kpi-abandonment").locator(".kpi-value")).to_have_text(
        percent(stats["abandonment"]["rate"])
    )
    expect(page.get_by_test_id("kpi-abandonment")).to_contain_text("janela fechou: 1 (mediana 1 h 0 min)")
    fcr_figure = page.get_by_test_id("kpi-fcr")
    expect(fcr_figure.locator(".kpi-value")).to_have_text(percent(stats["fcr"]["rate"]))
    expect(fcr_figure).to_contain_text(
        f"{stats['fcr']['pending']} em aberto: o cliente pode voltar em até 7 dias"
    )
    expect(page.get_by_test_id("kpi-reply-breaches").locator(".kpi-value")).to_have_text("1")
    expect(page.get_by_test_id("kpi-fcr-note")).to_be_visible()

    # the chart: a canvas of real size with the three lines drawn
    canvas = page.locator("[data-testid=kpi-chart] canvas")
    expect(canvas).to_have_count(1)
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    wait_for(
        lambda: chart_pixels(page, "kpi-chart", SERVICE_COLOUR) > 100, 10, "the service level line drawn"
    )
    wait_for(
        lambda: chart_pixels(page, "kpi-chart", ABANDONMENT_COLOUR) > 30, 10, "the abandonment line drawn"
    )
    wait_for(lambda: chart_pixels(page, "kpi-chart", FCR_COLOUR) > 50, 10, "the FCR line drawn")

    # per queue and per agent
    general = page.locator("[data-testid=kpi-queue-row][data-queue=general]")
    expect(general.get_by_test_id("kpi-queue-sl")).to_contain_text(
        percent(stats["queues"]["general"]["service_level"]["rate"])
    )
    expect(general.get_by_test_id("kpi-queue-fcr")).to_contain_text(
        percent(stats["queues"]["general"]["fcr"]["rate"])
    )
    expect(page.get_by_test_id("kpi-queues-note")).to_contain_text("provisório")
    ana_row = page.locator(f"[data-testid=kpi-agent-row][data-agent={ana['id']}]")
    expect(ana_row).to_contain_text("Ana Agente")
    expect(ana_row.get_by_test_id("kpi-agent-fcr")).to_contain_text(
        percent(stats["agents"][ana["id"]]["fcr"]["rate"])
    )
    panel.scroll_into_view_if_needed()
    page.get_by_test_id("supervisor-day").scroll_into_view_if_needed()
    screenshot(page, "supervisor-kpis")
    page.get_by_test_id("kpi-queues").scroll_into_view_if_needed()
    screenshot(page, "supervisor-kpis-tables")

    # one queue: the figures and the chart follow the picker
    billing = stack.api("GET", "/stats?hours=24&queue=billing", sara["token"])[1]
    page.get_by_test_id("kpi-queue").select_option("billing")
    expect(page.locator("[data-testid=kpi-queue-row]")).to_have_count(1)
    expect(page.get_by_test_id("kpi-service-level").locator(".kpi-value")).to_have_text(
        percent(billing["service_level"]["rate"])
    )
    page.get_by_test_id("kpi-figures").scroll_into_view_if_needed()
    screenshot(page, "supervisor-kpis-billing")

    # the Bot tab: FCR of what each rules version contained
    page.get_by_test_id("bot-tab").click()
    row = page.get_by_test_id("bot-fcr-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("bot-fcr-rate")).to_contain_text("100%")
    expect(row).to_contain_text("1 em aberto")
    page.get_by_test_id("bot-fcr").scroll_into_view_if_needed()
    screenshot(page, "bot-tab-fcr")

    # the same tab in English
    english = new_page(browser, locale="en-US")
    sign_in(english, stack.base, sara["token"])
    english.get_by_test_id("supervisor-tab").click()
    expect(english.get_by_test_id("kpi-service-level")).to_contain_text("Service level")
    expect(english.get_by_test_id("kpi-fcr")).to_contain_text(
        "pending: the customer may come back within 7 days"
    )
    english.get_by_test_id("kpi-figures").scroll_into_view_if_needed()
    screenshot(english, "supervisor-kpis-en")
