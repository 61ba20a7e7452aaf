"""The phone simulator shows what an agent's gestures look like on a customer's phone (issue 29, item 2): a
quoted reply with the quote above it, a reaction on the message it reacts to (gone when taken back), and
"typing…" under the business's name while the agent types."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_desk_console import LIVE
from tests.browser.test_simulator import business, customer, open_phone, say

pytestmark = pytest.mark.browser


def test_the_customers_phone_shows_the_quote_the_reaction_and_typing(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    phone = open_phone(browser, stack.base, "5511987040001", "Paula Dias")
    say(phone, "quero falar com um atendente")
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    expect(desk.get_by_test_id("queue-list")).to_contain_text("1 aguardando", timeout=LIVE)
    desk.get_by_test_id("take-next").click()
    say(phone, "chegou quebrado")
    asked = desk.get_by_test_id("transcript").locator("li.msg.in").filter(has_text="chegou quebrado")
    expect(asked).to_be_visible(timeout=LIVE)

    asked.hover()
    asked.get_by_test_id("quote").click()
    desk.get_by_test_id("reply-input").press_sequentially("Sinto muito!")
    expect(phone.locator("#chat-sub")).to_have_text("digitando…", timeout=LIVE)
    desk.get_by_test_id("reply-input").press("Enter")
    reply = business(phone).filter(has_text="Sinto muito!")
    expect(reply.get_by_test_id("sim-quote")).to_contain_text("chegou quebrado", timeout=LIVE)
    expect(phone.locator("#chat-sub")).to_have_text("Conta comercial · sandbox")

    asked.hover()
    asked.get_by_test_id("react").click()
    desk.keyboard.press("Enter")
    mine = customer(phone).filter(has_text="chegou quebrado")
    expect(mine.get_by_test_id("sim-reaction")).to_have_text("👍", timeout=LIVE)
    screenshot(phone, "simulator-quote-and-reaction")
    asked.hover()
    asked.get_by_test_id("react").click()
    asked.get_by_test_id("react-remove").click()
    expect(mine.get_by_test_id("sim-reaction")).to_have_count(0, timeout=LIVE)
