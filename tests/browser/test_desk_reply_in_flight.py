"""The reply box while a reply is on its way: it empties at once, what the agent types meanwhile stays
(it used to be wiped when the send's answer came, eating the first keys of the next message), and a send
that fails puts its text back ahead of what was typed since. The send is held in the browser (a routed
request) so the order of events is certain."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, sign_in
from tests.browser.test_desk_console import asks_for_a_person, customer_received

pytestmark = pytest.mark.browser


def test_typing_while_a_reply_is_on_its_way_is_kept_and_a_failed_reply_comes_back(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    asks_for_a_person(stack, "5511987002002", "Bruno", ana["token"])
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    reply = desk.get_by_test_id("reply-input")
    expect(reply).to_be_focused()

    held = []  # replies the browser sent, held until the test lets them through
    desk.route(
        "**/api/v1/conversations/*/messages",
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )

    desk.keyboard.type("Olá Bruno!")
    desk.keyboard.press("Enter")
    expect(reply).to_have_value("")  # at once, before the send's answer
    desk.keyboard.type("Só um mom")
    assert len(held) == 1 and json.loads(held[0].request.post_data or "{}") == {"text": "Olá Bruno!"}
    held.pop().continue_()
    customer_received(stack, "5511987002002", "Olá Bruno!")
    expect(desk.locator("[data-testid=msg][data-direction=out]").last).to_contain_text("Olá Bruno!")
    expect(reply).to_have_value("Só um mom")  # not wiped by the answer
    desk.keyboard.type("ento.")
    expect(reply).to_have_value("Só um momento.")

    desk.keyboard.press("Enter")
    expect(reply).to_have_value("")
    desk.keyboard.type("e mais")
    held.pop().fulfill(
        status=503,
        content_type="application/json",
        body=json.dumps({"error": {"code": "unavailable", "message": "try again"}}),
    )
    expect(desk.get_by_test_id("toast")).to_be_visible()
    expect(reply).to_have_value("Só um momento.\ne mais")  # the failed text first, then what came after
