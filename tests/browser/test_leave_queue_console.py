"""A customer who leaves a push queue while their conversation rings an agent's desk, in Chromium against
real processes: the offer leaves the desk saying the customer left, and the conversation is not offered
again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_push_offers import ASK, LIVE, offered_to, push_rules
from tests.support.processes import wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.browser

CUSTOMER = "5511987103001"


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(redis_url, tmp_path)
    running.start(HANDOVER_RULES=str(push_rules(tmp_path, offer_timeout_seconds=120)))
    try:
        yield running
    finally:
        running.stop()


def test_the_offer_leaves_the_desk_saying_the_customer_left(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    stack.customer_says(CUSTOMER, ASK, "Bia Nunes")
    cid = offered_to(stack, ana, CUSTOMER)["id"]
    offer = desk.locator(f"[data-testid=offer][data-id='{cid}']")
    expect(offer).to_contain_text("Bia Nunes", timeout=LIVE)

    stack.customer_says(CUSTOMER, "deixa pra lá, já resolvi", "Bia Nunes")

    expect(offer).to_have_count(0, timeout=LIVE)
    expect(desk.get_by_test_id("toast").filter(has_text="saiu da fila")).to_contain_text("Bia Nunes")
    screenshot(desk, "console-offer-customer-left")
    left = wait_for(
        lambda: [m for m in stack.outbox(CUSTOMER) if "saí da fila" in (m.get("text") or "")],
        10,
        "left_queue",
    )
    assert len(left) == 1
    assert stack.api("GET", "/me/offers", ana["token"])[1] == []
