"""Handing a conversation on, in a real browser against real processes: cold and warm transfers (the reason
typed stays internal, the customer hears one ops wrote), private notes for the next agent, and the
customer's earlier conversations."""

from __future__ import annotations

import time

import pytest
import redis
from playwright.sync_api import expect

from handover import keys
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_desk_console import (
    LIVE,
    asks_for_a_person,
    conversation,
    customer_received,
    holding,
    outbox_texts,
)

pytestmark = pytest.mark.browser


def test_transfer_needs_a_reason_then_moves_the_conversation_and_the_customer_is_told(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    desk, cid = holding(browser, stack, ana, ("5511987004001", "Fábio Nunes"))

    dialog = desk.get_by_test_id("transfer-dialog")
    desk.get_by_test_id("transfer-open").click()
    expect(dialog).to_be_visible()
    desk.keyboard.press("Escape")  # dialogs close with Escape
    expect(dialog).to_be_hidden()

    desk.get_by_test_id("transfer-open").click()
    # every queue of the rules is a target, named as customers know it; nobody serves retention yet
    expect(dialog.get_by_test_id("transfer-to-queue")).to_contain_text("relacionamento (retention)")
    dialog.get_by_test_id("transfer-to-queue").select_option("billing")
    dialog.get_by_test_id("transfer-submit").click()
    expect(dialog.get_by_test_id("transfer-error")).to_contain_text("motivo")
    expect(dialog.get_by_test_id("transfer-reason")).to_be_focused()
    expect(dialog).to_be_visible()
    screenshot(desk, "console-transfer-dialog")
    assert conversation(stack, cid, ana["token"])["state"] == "assigned"

    dialog.get_by_test_id("transfer-reason").fill("segunda via de boleto")
    # the reason typed is internal; what the customer reads is one ops wrote, shown before sending
    expect(dialog.get_by_text("o cliente não vê")).to_be_visible()
    dialog.get_by_test_id("transfer-customer-reason").select_option("specialist")
    expect(dialog.get_by_test_id("transfer-customer-preview")).to_contain_text(
        "Essa equipe é especialista no seu caso."
    )
    dialog.get_by_test_id("transfer-note").fill("cliente já verificado")
    screenshot(desk, "console-transfer-customer-reason")
    dialog.get_by_test_id("transfer-submit").click()
    expect(dialog).to_be_hidden()
    expect(desk.get_by_test_id("conversation")).to_have_count(0)
    expect(desk.get_by_test_id("conversation-empty")).to_be_visible()
    supervisor = stack.add_agent("Sara Supervisora", ["general"], role="supervisor")
    moved = conversation(stack, cid, supervisor["token"])
    assert (moved["state"], moved["queue"], moved["agent_id"]) == ("queued", "billing", None)
    assert moved["packet"]["transfers"][-1]["reason"] == "segunda via de boleto"
    assert moved["packet"]["transfers"][-1]["customer_reason"] == "specialist"
    [told] = customer_received(stack, "5511987004001", "transferir")
    assert "Essa equipe é especialista no seu caso." in told
    assert "boleto" not in told


def test_a_warm_offer_can_be_declined_and_stays_with_the_first_agent(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    carlos = stack.add_agent("Carlos Lima", ["general"])
    asks_for_a_person(stack, "5511987005001", "Gabi Prado", ana["token"])
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    other = new_page(browser)
    sign_in(other, stack.base, carlos["token"])

    desk.get_by_test_id("transfer-open").click()
    dialog = desk.get_by_test_id("transfer-dialog")
    dialog.get_by_test_id("transfer-mode").select_option("warm")
    expect(dialog.get_by_test_id("transfer-to-queue")).to_be_disabled()  # an offer goes to a person
    dialog.get_by_test_id("transfer-to-agent").select_option(carlos["id"])
    dialog.get_by_test_id("transfer-reason").fill("cliente pediu alguém do financeiro")
    dialog.get_by_test_id("transfer-submit").click()
    expect(desk.get_by_test_id("offer-pending")).to_contain_text("Carlos Lima")
    expect(desk.get_by_test_id("transfer-open")).to_be_disabled()

    offer = other.get_by_test_id("offer")
    expect(offer).to_contain_text("Gabi Prado", timeout=LIVE)
    expect(offer).to_contain_text("Ana Souza")
    expect(other).to_have_title("(1) Atendimento")
    screenshot(other, "console-warm-offer")
    offer.get_by_test_id("offer-decline").click()
    expect(other.get_by_test_id("offer")).to_have_count(0)

    expect(desk.get_by_test_id("conversation-state")).to_contain_text("Em atendimento", timeout=LIVE)
    expect(desk.get_by_test_id("toast").filter(has_text="recusada")).to_be_visible()
    expect(desk.get_by_test_id("transfer-open")).to_be_enabled()


def test_a_private_note_reaches_the_next_agent_and_never_the_customer(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    carlos = stack.add_agent("Carlos Lima", ["billing"])
    desk, cid = holding(browser, stack, ana, ("5511987009001", "Otávio Reis"))

    desk.get_by_test_id("tab-note").click()
    note = desk.get_by_test_id("note-input")
    expect(note).to_be_focused()
    desk.keyboard.type("Cliente já ligou duas vezes; prometi retorno até 18h.")
    desk.keyboard.press("Enter")
    kept = desk.locator("[data-testid=msg][data-direction=note]")
    expect(kept).to_contain_text("Cliente já ligou duas vezes", timeout=LIVE)
    expect(kept).to_contain_text("Nota interna · Você")
    desk.get_by_test_id("tab-reply").click()
    expect(desk.get_by_test_id("reply-input")).to_be_focused()

    other = new_page(browser)
    sign_in(other, stack.base, carlos["token"])
    desk.get_by_test_id("transfer-open").click()
    dialog = desk.get_by_test_id("transfer-dialog")
    dialog.get_by_test_id("transfer-to-queue").select_option("billing")
    dialog.get_by_test_id("transfer-reason").fill("estorno")
    dialog.get_by_test_id("transfer-submit").click()
    expect(dialog).to_be_hidden()

    expect(other.get_by_test_id("queue-list")).to_contain_text("1 aguardando", timeout=LIVE)
    other.get_by_test_id("take-next").click()
    seen = other.locator("[data-testid=msg][data-direction=note]")
    expect(seen).to_contain_text("Cliente já ligou duas vezes; prometi retorno até 18h.")
    expect(seen).to_contain_text("Nota interna · Ana Souza")
    screenshot(other, "console-private-note")
    assert conversation(stack, cid, carlos["token"])["packet"]["notes"][0]["by_name"] == "Ana Souza"
    customer_received(stack, "5511987009001", "transferir")
    assert not any("ligou" in text for text in outbox_texts(stack, "5511987009001"))


def test_the_customers_earlier_conversation_opens_read_only_and_back(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    desk, first = holding(browser, stack, ana, ("5511987010001", "Rita Prado"))
    desk.get_by_test_id("reply-input").fill("Seu reembolso sai em 5 dias úteis.")
    desk.keyboard.press("Enter")
    customer_received(stack, "5511987010001", "reembolso")
    desk.get_by_test_id("resolve").click()
    expect(desk.get_by_test_id("conversation-empty")).to_be_visible()
    # an hour passes: past the rules' reopen_within_seconds, the customer's next message starts anew
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    client.hset(keys.conversation_key(first), "resolved_at", time.time() - 3600)

    second = asks_for_a_person(stack, "5511987010001", "Rita Prado", ana["token"])
    assert second != first
    desk.get_by_test_id("take-next").click()
    history = desk.get_by_test_id("customer-history")
    expect(history).to_contain_text("Conversas anteriores (1)")
    history.locator("summary").click()  # folded until asked for: the packet stays short
    expect(history).to_contain_text("human_request")
    expect(history).to_contain_text("Ana Souza")
    history.get_by_test_id("history-open").click()
    expect(desk.get_by_test_id("transcript")).to_contain_text("Seu reembolso sai em 5 dias úteis.")
    expect(desk.get_by_test_id("conversation-view")).to_contain_text("Encerrada")
    expect(desk.get_by_test_id("reply-input")).to_have_count(0)  # read only
    screenshot(desk, "console-customer-history")
    desk.get_by_test_id("back-to-conversation").click()
    expect(desk.get_by_test_id("reply-input")).to_be_visible()
    expect(desk.get_by_test_id("transcript")).not_to_contain_text("Seu reembolso")
