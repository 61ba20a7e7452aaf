"""An agent answers the WhatsApp way from the console (issue 29, item 2), in a real browser against real
processes and the fake Graph API: quoting the customer's message (Meta gets `context.message_id`; Escape
drops a quote), reacting with an emoji from the keyboard (and taking it back), and "typing…" while they type,
once however much they type."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_desk_console import LIVE, waiting_id
from tests.browser.test_message_kinds import post
from tests.support.processes import wait_for
from tests.support.webhook import text_message

pytestmark = pytest.mark.browser

WA = "5511987030001"  # the number test_message_kinds.post writes from


def sent(graph, test) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r["json"] for r in graph.snapshot() if test(r["json"])]


def test_an_agent_quotes_reacts_and_is_seen_typing(browser, line, graph):
    ana = line.add_agent("Ana Souza", ["general"])
    post(line, text_message("wamid.G0", WA, "quero falar com um atendente", int(time.time())))
    waiting_id(line, WA, ana["token"])
    desk = new_page(browser)
    sign_in(desk, line.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    post(line, text_message("wamid.G1", WA, "qual o prazo de entrega?", int(time.time())))
    asked = desk.get_by_test_id("transcript").locator("[data-id='wamid.G1']")
    expect(asked).to_be_visible(timeout=LIVE)

    # a quote dropped with Escape sends a plain reply; a quote kept goes with the reply
    asked.hover()
    asked.get_by_test_id("quote").click()
    box = desk.get_by_test_id("reply-input")
    expect(desk.get_by_test_id("quoting")).to_contain_text("qual o prazo de entrega?")
    expect(box).to_be_focused()
    box.press("Escape")
    expect(desk.get_by_test_id("quoting")).to_have_count(0)
    asked.hover()
    asked.get_by_test_id("quote").click()
    box.fill("")
    box.press_sequentially("São 5 dias úteis.")  # typed as an agent types: "typing…" is told once
    screenshot(desk, "console-quoting")
    box.press("Enter")
    [quote] = wait_for(lambda: sent(graph, lambda b: b.get("context")), 30, "the quoting reply")
    assert (quote["context"], quote["text"]["body"]) == ({"message_id": "wamid.G1"}, "São 5 dias úteis.")
    typing = sent(graph, lambda b: "typing_indicator" in b)
    assert [t["message_id"] for t in typing] == ["wamid.G1"]
    reply = desk.get_by_test_id("transcript").locator("li.msg.out.by-agent")
    expect(reply.get_by_test_id("msg-quote")).to_contain_text("qual o prazo de entrega?")

    # react from the keyboard, then take it back
    asked.hover()
    asked.get_by_test_id("react").click()
    expect(asked.get_by_test_id("reaction-picker")).to_be_visible()
    desk.keyboard.press("Enter")  # the first emoji has the focus
    expect(asked.get_by_test_id("msg-our-reaction")).to_have_text("👍", timeout=LIVE)
    screenshot(desk, "console-reacted")
    asked.hover()
    asked.get_by_test_id("react").click()
    asked.get_by_test_id("react-remove").click()
    expect(asked.get_by_test_id("msg-our-reaction")).to_have_count(0, timeout=LIVE)
    reactions = wait_for(
        lambda: (found := sent(graph, lambda b: b.get("type") == "reaction")) and len(found) == 2 and found,
        30,
        "the reaction and its removal",
    )
    assert [(r["reaction"]["message_id"], r["reaction"]["emoji"]) for r in reactions] == [
        ("wamid.G1", "👍"),
        ("wamid.G1", ""),
    ]
