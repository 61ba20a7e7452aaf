"""The phone simulator in a real browser, on real processes: the customer types and taps, the shipped bot
answers (config/rules.yaml), an agent's reply and template arrive, and the simulator's delivered and read
statuses reach the agent's transcript. Everything passes through the signed webhook and the sandbox outbox."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot
from tests.support.processes import wait_for

pytestmark = pytest.mark.browser

# Ana is in the shipped identity directory (config/customers.yaml).
ANA_CPF, ANA_BIRTH = "529.982.247-25", "14/03/1988"

# The page is told it is hidden or visible (headless Chromium pages are always visible).
VISIBILITY_SWITCH = """
window.__simHidden = false;
Object.defineProperty(document, "visibilityState", {
  configurable: true, get: () => (window.__simHidden ? "hidden" : "visible"),
});
"""


def open_phone(browser, base: str, number: str, name: str, locale: str = "pt-BR"):  # type: ignore[no-untyped-def]
    page = new_page(browser, locale)
    page.add_init_script(VISIBILITY_SWITCH)
    page.goto(f"{base}/simulator")
    start(page, number, name)
    return page


def start(page, number: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("sim-number").fill(number)
    page.get_by_test_id("sim-name").fill(name)
    page.get_by_test_id("sim-start").click()
    expect(page.get_by_test_id("sim-input")).to_be_focused()


def say(page, text: str) -> None:  # type: ignore[no-untyped-def]
    typing = page.get_by_test_id("sim-input")
    typing.fill(text)
    typing.press("Enter")
    expect(typing).to_have_value("")


def business(page):  # type: ignore[no-untyped-def]
    return page.locator("[data-testid=sim-msg][data-from=business]")


def customer(page):  # type: ignore[no-untyped-def]
    return page.locator("[data-testid=sim-msg][data-from=customer]")


def delivery(stack, token: str, conversation_id: str, entry_id: str) -> str:  # type: ignore[no-untyped-def]
    detail = stack.api("GET", f"/conversations/{conversation_id}", token)[1]
    (entry,) = [e for e in detail["transcript"] if e["id"] == entry_id]
    return str(entry["delivery"]["status"])


def test_greeting_list_row_and_identity_check_survive_a_reload(browser, stack):
    phone = open_phone(browser, stack.base, "5511987003344", "Ana Souza")
    say(phone, "oi")
    greeting = business(phone).first
    expect(greeting).to_contain_text("Olá, Ana Souza! Sou o assistente virtual.")
    expect(greeting).to_have_attribute("data-kind", "list")
    # the bot read it: a mark_read for this message turns the customer's ticks blue
    expect(customer(phone).first).to_have_attribute("data-status", "read")

    opener = greeting.get_by_test_id("sim-list-open")
    expect(opener).to_have_text("Ver opções")
    opener.click()
    rows = phone.get_by_test_id("sim-list-row")
    expect(rows).to_have_count(4)
    expect(rows.first).to_be_focused()
    screenshot(phone, "simulator-list-sheet")
    phone.keyboard.press("Escape")  # closes, back to the button that opened it
    expect(phone.get_by_test_id("sim-list-sheet")).to_be_hidden()
    expect(opener).to_be_focused()
    opener.click()
    phone.locator("[data-testid=sim-list-row][data-id=menu_pedido]").click()
    expect(phone.get_by_test_id("sim-list-sheet")).to_be_hidden()
    expect(customer(phone).last).to_contain_text("Meu pedido")
    expect(business(phone).last).to_contain_text(
        "Para sua segurança, qual é o seu CPF?"
    )  # the bot acted on the row

    say(phone, ANA_CPF)
    expect(business(phone).last).to_contain_text("data de nascimento")
    say(phone, ANA_BIRTH)
    thread = phone.get_by_test_id("sim-thread")
    expect(thread).to_contain_text("identidade confirmada")
    expect(business(phone).last).to_contain_text("Qual é o número do pedido?")
    say(phone, "4455")
    expect(thread).to_contain_text("Vou passar o pedido 4455 para um atendente")
    expect(business(phone).last).to_contain_text("da fila")
    screenshot(phone, "simulator-identity-and-queue")

    shown = [business(phone).count(), customer(phone).count()]
    phone.reload()  # the tab keeps its customer: own messages from storage, the business's from the outbox
    expect(business(phone)).to_have_count(shown[0])
    expect(customer(phone)).to_have_count(shown[1])
    expect(customer(phone).first.locator(".text")).to_have_text("oi")
    expect(phone.locator("[data-testid=sim-msg][data-from=customer][data-status=read]")).to_have_count(
        shown[1]
    )
    expect(phone.locator("[data-testid=sim-msg]").first).to_contain_text("oi")
    expect(phone.locator("[data-testid=sim-msg]").nth(1)).to_contain_text("Olá, Ana Souza")


def test_reply_button_agent_reply_template_and_delivery_statuses(browser, stack):
    agent = stack.add_agent("Bia Costa", ["general"])
    number = "5511987005566"
    phone = open_phone(browser, stack.base, number, "Carla Dias")
    say(phone, "quero trocar um produto")
    offer = business(phone).last
    expect(offer).to_contain_text("Você tem 30 dias para trocar ou devolver.")
    expect(offer.get_by_test_id("sim-button")).to_have_text(["Sim, atendente", "Ver meu pedido"])
    offer.locator("[data-testid=sim-button][data-id=falar_com_atendente]").click()
    expect(customer(phone).last).to_contain_text("Sim, atendente")
    expect(business(phone).last).to_contain_text("Vou te passar para um atendente. Você é o 1º da fila")

    status, claimed = stack.api("POST", "/queues/next", agent["token"])
    assert status == 200, claimed
    assert claimed["wa_id"] == number
    cid = claimed["id"]
    # the button tap reached the bot as a button reply, and it acted on the button's id
    assert [e["kind"] for e in claimed["transcript"] if e["direction"] == "in"] == ["text", "button_reply"]
    assert claimed["packet"]["escalation"]["reason"] == "customer_asked"
    bot_sends = [e for e in claimed["transcript"] if e["direction"] == "out"]
    wait_for(
        lambda: all(delivery(stack, agent["token"], cid, e["id"]) == "read" for e in bot_sends),
        30,
        "the bot's messages to be read on the phone",
    )

    phone.evaluate("window.__simHidden = true")  # the customer is in another app: delivered, not read
    status, sent = stack.api(
        "POST",
        f"/conversations/{cid}/messages",
        agent["token"],
        {"text": "Olá Carla, aqui é a Bia. Vamos fazer a troca."},
    )
    assert status == 202, sent
    expect(business(phone).last).to_contain_text("aqui é a Bia")
    wait_for(lambda: delivery(stack, agent["token"], cid, sent["id"]) == "delivered", 30, "delivered")
    phone.evaluate("window.__simHidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    wait_for(lambda: delivery(stack, agent["token"], cid, sent["id"]) == "read", 30, "read once seen")

    status, template = stack.api(
        "POST",
        f"/conversations/{cid}/template",
        agent["token"],
        {"name": "pedido_atualizado", "language": "pt_BR", "params": ["Carla", "4455", "saiu para entrega"]},
    )
    assert status == 202, template
    shown = business(phone).last
    expect(shown.get_by_test_id("sim-template")).to_contain_text("pedido_atualizado (pt_BR)")
    expect(shown).to_contain_text("O pedido 4455 foi atualizado: saiu para entrega.")
    expect(shown).to_contain_text("saiu para entrega")
    say(phone, "oba, obrigada!")
    screenshot(phone, "simulator-agent-and-template")
    wait_for(
        lambda: any(
            e["text"] == "oba, obrigada!"
            for e in stack.api("GET", f"/conversations/{cid}", agent["token"])[1]["transcript"]
        ),
        30,
        "the customer's answer in the agent's transcript",
    )


@pytest.mark.parametrize(
    ("locale", "texts"),
    [
        (
            "pt-BR",
            {
                "start": "Começar conversa",
                "input": "Mensagem",
                "bad": "8 a 15 dígitos",
                "sub": "Conta comercial",
            },
        ),
        (
            "en-US",
            {"start": "Start chat", "input": "Message", "bad": "8 to 15 digits", "sub": "Business account"},
        ),
    ],
)
def test_page_speaks_the_browser_language_and_tabs_play_different_customers(browser, stack, locale, texts):
    page = new_page(browser, locale)
    page.goto(f"{stack.base}/simulator")
    expect(page.get_by_test_id("sim-start")).to_have_text(texts["start"])
    page.get_by_test_id("sim-number").fill("123")
    page.get_by_test_id("sim-start").click()
    expect(page.get_by_role("alert")).to_contain_text(texts["bad"])
    expect(page.get_by_test_id("sim-number")).to_be_focused()
    screenshot(page, f"simulator-setup-{locale}")
    start(page, "+55 (11) 98700-7788", "Davi")  # typed as people write numbers; digits are kept
    expect(page.get_by_test_id("sim-input")).to_have_attribute("placeholder", texts["input"])
    expect(page.locator(".chat-header")).to_contain_text(texts["sub"])

    other = page.context.new_page()  # another tab of the same browser: remembers the last customer
    other.goto(f"{stack.base}/simulator")
    expect(other.get_by_test_id("sim-number")).to_have_value("5511987007788")
    expect(other.get_by_test_id("sim-name")).to_have_value("Davi")
    start(other, "5511987009900", "Eva")

    say(page, "oi")
    say(other, "oi")
    expect(business(page).first).to_contain_text("Davi")
    expect(business(other).first).to_contain_text("Eva")
    expect(business(page)).to_have_count(1)
    expect(business(other)).to_have_count(1)
    screenshot(page, f"simulator-chat-{locale}")
