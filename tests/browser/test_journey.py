"""The whole journey in a real browser: the customer writes in the phone simulator, the bot answers, the
customer asks for a person, an agent takes it in the desk and sees the packet, replies, the simulator
shows it, a warm transfer is accepted by a second agent, who resolves, and the customer taps the CSAT.

Two agents' desks and the customer's phone are three browser contexts on one `handover serve` +
`handover worker` stack (sandbox mode: the simulator reads what WhatsApp would have delivered)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.processes import wait_for

pytestmark = pytest.mark.browser

CUSTOMER = "5511987001122"


def test_customer_to_bot_to_agent_to_second_agent_to_csat(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    carlos = stack.add_agent("Carlos Lima", ["general", "billing"])

    phone = new_page(browser)
    phone.goto(f"{stack.base}/simulator")
    phone.get_by_test_id("sim-number").fill(CUSTOMER)
    phone.get_by_test_id("sim-name").fill("Maria Oliveira")
    phone.get_by_test_id("sim-start").click()
    typing = phone.get_by_test_id("sim-input")
    typing.fill("oi")
    typing.press("Enter")
    business = phone.locator("[data-testid=sim-msg][data-from=business]")
    expect(business.first).to_contain_text("Olá")  # the bot's greeting

    typing.fill("quero falar com um atendente")
    typing.press("Enter")
    expect(business.last).to_contain_text("fila")  # "Você é o 1º da fila"

    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    expect(desk.get_by_test_id("queue-list")).to_contain_text("1")
    desk.get_by_test_id("take-next").click()
    packet = desk.get_by_test_id("packet")
    expect(packet).to_contain_text("Maria Oliveira")
    expect(packet).to_contain_text("customer_asked")
    expect(desk.get_by_test_id("identity-badge")).to_be_visible()
    expect(desk.get_by_test_id("transcript")).to_contain_text("quero falar com um atendente")

    reply = desk.get_by_test_id("reply-input")
    reply.fill("Olá Maria, aqui é a Ana. Como posso ajudar?")
    reply.press("Enter")
    expect(business.last).to_contain_text("aqui é a Ana")
    # the simulator marked it delivered and read; the agent's tick follows
    mine = desk.locator("[data-testid=msg][data-direction=out]").last
    expect(mine).to_have_attribute("data-status", re.compile("delivered|read"))

    typing.fill("meu pedido 4455 veio com defeito")
    typing.press("Enter")
    expect(desk.get_by_test_id("transcript")).to_contain_text("4455 veio com defeito")  # live, no reload
    said = desk.get_by_test_id("msg").all_inner_texts()
    order = ["oi", "Sou o assistente virtual", "quero falar", "Vou te passar", "aqui é a Ana", "4455 veio"]
    at = [next(i for i, text in enumerate(said) if piece in text) for piece in order]
    assert at == sorted(at), said  # the customer answered within the bot's second: still after it
    screenshot(desk, "desk-conversation")
    screenshot(phone, "simulator-with-agent")

    # warm transfer to Carlos, who accepts in his own desk
    second = new_page(browser)
    sign_in(second, stack.base, carlos["token"])
    desk.get_by_test_id("transfer-open").click()
    dialog = desk.get_by_test_id("transfer-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("transfer-mode").select_option("warm")
    dialog.get_by_test_id("transfer-to-agent").select_option(carlos["id"])
    dialog.get_by_test_id("transfer-reason").fill("troca de produto")
    dialog.get_by_test_id("transfer-note").fill("cliente já mandou a foto do defeito")
    dialog.get_by_test_id("transfer-submit").click()
    offer = second.get_by_test_id("offer")
    expect(offer).to_contain_text("cliente já mandou a foto do defeito")
    second.reload()  # the offer is still there: the desk lists it from the API, not from memory
    expect(offer).to_contain_text("cliente já mandou a foto do defeito")
    screenshot(second, "desk-warm-offer")
    offer.get_by_test_id("offer-accept").click()
    expect(second.get_by_test_id("packet")).to_contain_text("troca de produto")
    expect(second.get_by_test_id("transcript")).to_contain_text("4455 veio com defeito")
    expect(business.last).to_contain_text("Vou te passar para Carlos Lima")  # told, in Portuguese

    held = stack.api("GET", "/conversations?state=assigned", carlos["token"])[1]
    (cid,) = [c["id"] for c in held if c["wa_id"] == CUSTOMER]
    second.get_by_test_id("resolve").click()
    csat = phone.get_by_test_id("sim-button").filter(has_text="Ótimo")
    expect(csat).to_be_visible()
    screenshot(phone, "simulator-csat")
    csat.click()
    expect(business.last).to_contain_text("Obrigado pela avaliação")

    def rated():  # type: ignore[no-untyped-def]
        detail = stack.api("GET", f"/conversations/{cid}", carlos["token"])[1]
        return detail if detail["csat"] else None

    done = wait_for(rated, 30, "the rating on the conversation")
    assert (done["state"], done["csat"], done["csat_score"]) == ("resolved", "csat_good", 3)

    # the supervisor's last 24 hours: one resolved after one transfer, rated 3, with its times
    boss = stack.add_agent("Sara Supervisora", ["general"], role="supervisor")
    board = new_page(browser)
    sign_in(board, stack.base, boss["token"])
    board.get_by_test_id("supervisor-tab").click()
    expect(board.get_by_test_id("kpi-resolved")).to_contain_text("1")
    expect(board.get_by_test_id("kpi-resolved")).to_contain_text("transferências: 1")
    expect(board.get_by_test_id("kpi-csat")).to_contain_text("3")
    expect(board.get_by_test_id("kpi-handle")).not_to_contain_text("—")
    carlos_row = board.locator(f"[data-testid=supervisor-agent][data-agent='{carlos['id']}']")
    expect(carlos_row.get_by_test_id("agent-day")).to_contain_text("encerradas: 1")
    expect(carlos_row.get_by_test_id("agent-day")).to_contain_text("CSAT 3")
    screenshot(board, "supervisor-last-24-hours")
