"""The agent desk console in Chromium against real processes (redis-server, `handover serve`, `handover
worker`): what the agent sees, what the customer received (the sandbox outbox) and what the API reports.

The customer is played through the signed sandbox webhook (`stack.customer_says`); agents are made with
`handover agents add`. The console's data-testids are listed at the top of desk/static/console.js. Transfers,
notes and history: test_handing_over.py."""

from __future__ import annotations

import re
import time

import pytest
import redis
from playwright.sync_api import expect

from handover import keys
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.processes import wait_for

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: a liveness bound for what goes through the worker, not a speed assertion
TOKEN_KEY = "handover.desk.token"


def asks_for_a_person(stack, wa_id: str, name: str, token: str) -> str:  # type: ignore[no-untyped-def]
    """The customer asks for a person; returns the conversation id once it waits in "general"."""
    stack.customer_says(wa_id, "quero falar com um atendente", name)
    return waiting_id(stack, wa_id, token)


def waiting_id(stack, wa_id: str, token: str) -> str:  # type: ignore[no-untyped-def]
    def found():  # type: ignore[no-untyped-def]
        waiting = stack.api("GET", "/conversations?state=queued", token)[1]
        return next((c["id"] for c in waiting if c["wa_id"] == wa_id), None)

    return str(wait_for(found, 30, f"{wa_id} to wait in a queue"))


def outbox_texts(stack, wa_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.get("text") or "" for m in stack.outbox(wa_id)]


def customer_received(stack, wa_id: str, fragment: str) -> list[str]:  # type: ignore[no-untyped-def]
    return wait_for(
        lambda: [t for t in outbox_texts(stack, wa_id) if fragment in t], 30, f"{fragment!r} at {wa_id}"
    )


def conversation(stack, cid: str, token: str) -> dict:  # type: ignore[type-arg]
    status, body = stack.api("GET", f"/conversations/{cid}", token)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def holding(browser, stack, agent, *customers):  # type: ignore[no-untyped-def]
    """The agent signs in and takes each (wa_id, name) customer's conversation, the later ones arriving
    while the desk is open; (desk, *conversation ids)."""
    desk = new_page(browser)
    ids = []
    for wa_id, name in customers:
        ids.append(asks_for_a_person(stack, wa_id, name, agent["token"]))
        if len(ids) == 1:
            sign_in(desk, stack.base, agent["token"])
        else:
            expect(desk.get_by_test_id("queue-list")).to_contain_text("1 aguardando", timeout=LIVE)
        desk.get_by_test_id("take-next").click()
        expect(desk.get_by_test_id("packet")).to_contain_text(name)
    return desk, *ids


def test_sign_in_refuses_a_bad_token_and_keeps_the_good_one_in_the_tab_only(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    page = new_page(browser)
    page.goto(f"{stack.base}/")
    page.get_by_test_id("signin-token").fill("hv_not-a-real-token")
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("signin-error")).to_contain_text("não reconhecido")
    expect(page.get_by_test_id("take-next")).to_have_count(0)

    page.get_by_test_id("signin-token").fill(ana["token"])
    page.get_by_test_id("signin-token").press("Enter")  # the keyboard signs in too
    expect(page.get_by_test_id("me-name")).to_have_text("Ana Souza")
    assert ana["token"] not in page.url
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == ana["token"]
    assert page.evaluate("JSON.stringify(localStorage)") == "{}"
    assert page.context.cookies() == []

    page.reload()  # the session survives a reload of the tab
    expect(page.get_by_test_id("me-name")).to_have_text("Ana Souza")

    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin-token")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
    page.reload()
    expect(page.get_by_test_id("signin-token")).to_be_visible()


@pytest.mark.parametrize(
    ("locale", "lang", "sign_in_label", "take_next", "nobody", "title"),
    [
        ("en-US", "en", "Sign in", "Take next", "nobody waiting", "Agent desk"),
        ("pt-BR", "pt", "Entrar", "Atender próximo", "ninguém aguardando", "Atendimento"),
    ],
)
def test_the_ui_speaks_the_browsers_language(
    browser, stack, locale, lang, sign_in_label, take_next, nobody, title
):
    ana = stack.add_agent("Ana Souza", ["general"])
    page = new_page(browser, locale=locale)
    page.goto(f"{stack.base}/")
    expect(page.get_by_test_id("signin-submit")).to_have_text(sign_in_label)
    sign_in(page, stack.base, ana["token"])
    expect(page.get_by_test_id("take-next")).to_have_text(take_next)
    expect(page.get_by_test_id("queue-list")).to_contain_text(nobody)
    expect(page).to_have_title(title)
    assert page.evaluate("document.documentElement.lang").startswith(lang)


def test_take_next_shows_the_packet_and_the_keyboard_reply_reaches_the_customer(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    expect(desk.get_by_test_id("toast")).to_contain_text("Ninguém aguardando")

    # a verified customer: CPF and birth date checked by the bot, then the order number collected
    for text, answer in [
        ("oi, cadê meu pedido?", "CPF"),
        ("529.982.247-25", "nascimento"),
        ("14/03/1988", "número do pedido"),
        ("4455", "atendente"),
    ]:
        stack.customer_says("5511987001001", text, "Ana Paula")
        customer_received(stack, "5511987001001", answer)  # a customer reads before answering
    expect(desk.locator("[data-testid=queue][data-queue=general]")).to_contain_text(
        "1 aguardando", timeout=LIVE
    )

    desk.get_by_test_id("take-next").click()
    packet = desk.get_by_test_id("packet")
    expect(packet).to_contain_text("Ana Paula")
    expect(packet).to_contain_text("order_inquiry")
    expect(packet).to_contain_text("order_status")
    expect(desk.get_by_test_id("packet-collected")).to_contain_text("4455")
    badge = desk.get_by_test_id("identity-badge")
    expect(badge).to_have_attribute("data-verified", "true")
    expect(badge).to_contain_text("cpf+birth_date")
    transcript = desk.get_by_test_id("transcript")
    expect(transcript).to_contain_text("cadê meu pedido")
    expect(transcript).not_to_contain_text("529")  # what proved the identity is never shown
    expect(desk.get_by_test_id("conversation")).to_have_count(1)
    expect(desk.get_by_test_id("conversation-load")).to_have_text("1/3")

    # the reply box has the focus after taking: type, Shift+Enter breaks the line, Enter sends
    reply = desk.get_by_test_id("reply-input")
    expect(reply).to_be_focused()
    desk.keyboard.type("Olá Ana Paula!")
    desk.keyboard.press("Shift+Enter")
    desk.keyboard.type("Vou conferir o pedido 4455.")
    desk.keyboard.press("Enter")
    expect(reply).to_have_value("")
    assert customer_received(stack, "5511987001001", "Olá Ana Paula!\nVou conferir o pedido 4455.")
    mine = desk.locator("[data-testid=msg][data-direction=out]").last
    expect(mine).to_contain_text("Vou conferir o pedido 4455.")
    expect(mine).to_have_attribute("data-status", re.compile("sent|delivered|read"), timeout=LIVE)
    screenshot(desk, "console-desk-conversation")

    # "/" opens the canned replies, filled in for this customer; the keyboard alone picks, edits and sends
    desk.keyboard.type("/")
    options = desk.get_by_test_id("canned-option")
    expect(options).to_have_count(4)
    expect(reply).to_have_attribute("aria-expanded", "true")
    desk.keyboard.type("verif")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Estou verificando o pedido 4455, só um momento.")
    screenshot(desk, "console-canned-replies")
    desk.keyboard.press("Enter")  # inserts, does not send
    expect(reply).to_have_value("Estou verificando o pedido 4455, só um momento.")
    expect(desk.get_by_test_id("canned-list")).to_be_hidden()
    desk.keyboard.press("End")
    desk.keyboard.type(" Já volto.")
    desk.keyboard.press("Enter")
    assert customer_received(
        stack, "5511987001001", "Estou verificando o pedido 4455, só um momento. Já volto."
    )
    desk.keyboard.type("/tchau")
    expect(desk.get_by_test_id("canned-none")).to_be_visible()
    desk.keyboard.press("Escape")
    expect(desk.get_by_test_id("canned-list")).to_be_hidden()
    expect(reply).to_have_value("/tchau")


def test_customer_messages_arrive_live_with_an_unread_count_in_the_title(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    desk, first, second = holding(
        browser, stack, ana, ("5511987002001", "Bruno Alves"), ("5511987002002", "Carla Dias")
    )
    expect(desk.get_by_test_id("conversation")).to_have_count(2)

    # the open conversation gets its message live, no reload
    stack.customer_says("5511987002002", "meu boleto venceu ontem", "Carla Dias")
    expect(desk.get_by_test_id("transcript")).to_contain_text("meu boleto venceu ontem", timeout=LIVE)
    expect(desk).to_have_title("Atendimento")

    # the other one counts as unread, in its list item and in the title
    stack.customer_says("5511987002001", "alguém aí?", "Bruno Alves")
    bruno = desk.locator(f"[data-testid=conversation][data-id='{first}']")
    expect(bruno).to_have_attribute("data-unread", "1", timeout=LIVE)
    expect(desk).to_have_title("(1) Atendimento")
    expect(desk.get_by_test_id("transcript")).not_to_contain_text("alguém aí?")
    bruno.click()
    expect(desk.get_by_test_id("transcript")).to_contain_text("alguém aí?")
    expect(bruno).to_have_attribute("data-unread", "0")
    expect(desk).to_have_title("Atendimento")
    assert conversation(stack, second, ana["token"])["agent_id"] == ana["id"]


def test_take_next_explains_why_it_cannot(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"], capacity=1)
    asks_for_a_person(stack, "5511987003001", "Davi Rocha", ana["token"])
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])

    desk.get_by_test_id("presence").select_option("away")
    wait_for(lambda: stack.api("GET", "/me", ana["token"])[1]["status"] == "away", 10, "Ana away")
    desk.get_by_test_id("take-next").click()
    expect(desk.locator("[data-testid=toast][data-kind=error]")).to_contain_text("Disponível")

    desk.get_by_test_id("presence").select_option("available")
    wait_for(lambda: stack.api("GET", "/me", ana["token"])[1]["status"] == "available", 10, "Ana back")
    desk.get_by_test_id("take-next").click()
    expect(desk.get_by_test_id("packet")).to_contain_text("Davi Rocha")

    asks_for_a_person(stack, "5511987003002", "Elisa Reis", ana["token"])
    desk.get_by_test_id("take-next").click()
    expect(desk.locator("[data-testid=toast][data-kind=error]").last).to_contain_text("capacity")


def test_resolve_sends_the_survey_and_back_to_bot_hands_it_over(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    desk, first, second = holding(
        browser, stack, ana, ("5511987006001", "Hugo Lopes"), ("5511987006002", "Iara Melo")
    )

    desk.get_by_test_id("release").click()
    expect(desk.get_by_test_id("packet")).to_contain_text("Hugo Lopes")  # the next one held opens
    desk.get_by_test_id("resolve").click()
    expect(desk.get_by_test_id("conversation-empty")).to_be_visible()
    expect(desk.get_by_test_id("conversation-load")).to_have_text("0/3")
    assert customer_received(stack, "5511987006001", "Como você avalia")

    supervisor = stack.add_agent("Sara Supervisora", ["general"], role="supervisor")
    assert conversation(stack, first, supervisor["token"])["state"] == "resolved"
    assert conversation(stack, second, supervisor["token"])["state"] == "bot"


def test_outside_the_window_the_reply_box_gives_way_to_templates(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    desk, cid = holding(browser, stack, ana, ("5511987007001", "Júlia Castro"))
    expect(desk.get_by_test_id("reply-input")).to_be_enabled()

    client = redis.Redis.from_url(stack.redis_url)
    client.hset(keys.conversation_key(cid), "window_expires_at", str(time.time() - 1))  # 24 h went by
    client.close()
    desk.reload()
    expect(desk.get_by_test_id("window-closed-notice")).to_contain_text("24 horas")
    expect(desk.get_by_test_id("reply-input")).to_be_disabled()
    expect(desk.get_by_test_id("reply-send")).to_be_disabled()

    picker = desk.get_by_test_id("template-picker")
    picker.select_option("retomar_atendimento|pt_BR")
    desk.get_by_test_id("template-param").fill("Júlia")
    expect(desk.get_by_test_id("template-preview")).to_contain_text("Olá, Júlia!")
    screenshot(desk, "console-window-closed")
    desk.get_by_test_id("template-send").click()
    expect(desk.get_by_test_id("toast")).to_contain_text("Modelo enviado")
    sent = wait_for(
        lambda: [m for m in stack.outbox("5511987007001") if m["kind"] == "template"], 30, "the template"
    )
    assert (sent[-1]["template_name"], sent[-1]["template_params"]) == ("retomar_atendimento", ["Júlia"])
    expect(desk.locator("[data-testid=msg][data-direction=out]").last).to_contain_text("retomar_atendimento")


def test_supervisor_sees_agents_and_queues_and_assigns_a_waiting_conversation(browser, stack):
    sara = stack.add_agent("Sara Supervisora", ["general"], role="supervisor", capacity=5)
    carlos = stack.add_agent("Carlos Lima", ["general", "billing"])
    stack.add_agent("Dora Away", ["billing"], status="away")
    cid = asks_for_a_person(stack, "5511987008001", "Lucas Prado", sara["token"])

    board = new_page(browser)
    sign_in(board, stack.base, sara["token"])
    board.get_by_test_id("supervisor-tab").click()
    agents = board.get_by_test_id("supervisor-agents")
    expect(agents.locator(f"[data-agent='{carlos['id']}']")).to_contain_text("Disponível")
    expect(agents.get_by_test_id("supervisor-agent").filter(has_text="Dora Away")).to_contain_text("Ausente")
    expect(agents).to_contain_text("0/3")
    queue = board.get_by_test_id("supervisor-queues").locator("[data-queue=general]")
    expect(queue.locator("td").first).to_have_text("1")
    row = board.locator(f"[data-testid=supervisor-conversation][data-id='{cid}']")
    expect(row).to_contain_text("Lucas Prado")
    expect(row).to_have_attribute("data-state", "queued")

    carlos_desk = new_page(browser)
    sign_in(carlos_desk, stack.base, carlos["token"])

    row.get_by_test_id("supervisor-move").click()
    dialog = board.get_by_test_id("transfer-dialog")
    expect(dialog.get_by_test_id("transfer-mode")).to_be_disabled()  # a supervisor's move is cold
    # it waits: an assignment, not a transfer — nothing to tell the customer, and the dialog says so
    expect(dialog.get_by_test_id("assign-silent")).to_be_visible()
    expect(dialog.get_by_test_id("transfer-customer-reason")).to_be_hidden()
    dialog.get_by_test_id("transfer-to-agent").select_option(carlos["id"])
    dialog.get_by_test_id("transfer-reason").fill("cliente antigo do Carlos")
    screenshot(board, "console-supervisor-assigns")
    dialog.get_by_test_id("transfer-submit").click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_attribute("data-state", "assigned", timeout=LIVE)
    expect(row).to_contain_text("Carlos Lima")
    expect(queue.locator("td").first).to_have_text("0")
    expect(agents.locator(f"[data-agent='{carlos['id']}']")).to_contain_text("1/3")
    screenshot(board, "console-supervisor")

    assigned = conversation(stack, cid, sara["token"])
    assert (assigned["state"], assigned["agent_id"]) == ("assigned", carlos["id"])
    assert assigned["packet"]["transfers"] == []  # an assignment, not a transfer
    [given] = assigned["packet"]["assignments"]
    assert (given["from"], given["to"], given["by"]) == ("queue:general", carlos["id"], sara["id"])
    assert not [m for m in stack.outbox("5511987008001") if "transferir" in (m.get("text") or "")]
    mine = carlos_desk.locator(f"[data-testid=conversation][data-id='{cid}']")
    expect(mine).to_be_visible(timeout=LIVE)  # live in Carlos's desk, no reload

    # the search finds it by the last digits of the number, and opens it read-only with a way back
    board.get_by_test_id("supervisor-search").fill("8001")
    board.get_by_test_id("supervisor-search").press("Enter")
    found = board.get_by_test_id("search-open")
    expect(found).to_have_count(1)
    expect(board.get_by_test_id("search-results")).to_contain_text("Lucas Prado")
    screenshot(board, "console-supervisor-search")
    found.click()
    expect(board.get_by_test_id("customer-name")).to_have_text("Lucas Prado")
    board.get_by_test_id("back-to-supervisor").click()
    expect(board.get_by_test_id("supervisor-view")).to_be_visible()
    board.get_by_test_id("supervisor-search").fill("ninguém assim")
    board.get_by_test_id("search-submit").click()
    expect(board.get_by_test_id("search-none")).to_be_visible()
    mine.click()
    expect(carlos_desk.get_by_test_id("packet-assignments")).to_contain_text("cliente antigo do Carlos")
    expect(carlos_desk.get_by_test_id("packet-assignments")).to_contain_text("por Sara Supervisora")
    screenshot(carlos_desk, "console-assigned-by-a-supervisor")
