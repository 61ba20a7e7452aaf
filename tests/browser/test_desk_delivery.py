"""What Meta does with an agent's replies, seen in the desk: a send Meta refuses shows as failed with
its reason, and ticks move as the worker's events arrive (no polling), with two conversations held.

Runs with a WhatsApp token against the fake Graph API on loopback, so sends really go out over HTTP and
can fail the way Meta's do."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.customer import Customer
from tests.support.processes import wait_for

pytestmark = pytest.mark.browser


def test_a_refused_reply_shows_why_and_ticks_move_on_events(browser, line, graph):
    ana = line.add_agent("Ana Souza", ["general"], capacity=2)
    rita = Customer(line, graph, "5511987006001", "Rita Alves")
    joao = Customer(line, graph, "5511987006002", "João Reis")
    rita.says("quero falar com um atendente")
    joao.says("quero falar com um atendente")
    wait_for(
        lambda: len(line.api("GET", "/conversations?state=queued", ana["token"])[1]) == 2, 30, "both waiting"
    )

    desk = new_page(browser)
    sign_in(desk, line.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    expect(desk.get_by_test_id("customer-name")).to_be_visible()
    desk.get_by_test_id("take-next").click()
    listed = desk.get_by_test_id("conversation")
    expect(listed).to_have_count(2)
    expect(desk.get_by_test_id("conversation-load")).to_contain_text("2/2")

    listed.filter(has_text="Rita Alves").click()
    expect(desk.get_by_test_id("customer-name")).to_contain_text("Rita Alves")
    reply = desk.get_by_test_id("reply-input")
    reply.fill("__notuser__ seu pedido saiu para entrega")  # the fake Graph API answers 131026
    reply.press("Enter")
    refused = desk.locator("[data-testid=msg][data-direction=out]").last
    expect(refused).to_have_attribute("data-status", "failed")
    expect(refused).to_contain_text("131026")
    expect(refused).to_contain_text("Message undeliverable")

    reply.fill("Rita, conferi aqui: o pedido saiu para entrega hoje.")
    reply.press("Enter")
    fine = desk.locator("[data-testid=msg][data-direction=out]").last
    expect(fine).to_have_attribute("data-status", "sent")  # Meta took it: the worker's event moved the tick
    assert "Rita, conferi aqui: o pedido saiu para entrega hoje." in rita.texts()
    screenshot(desk, "desk-failed-reply")
