"""Issue 32 item 7 in a real browser against real processes: an agent serving two business numbers sees each
conversation's number (its name and colour) and filters by it; an agent of one number sees only that one's
customers and no number at all (a one-number desk looks as before)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_desk_console import waiting_id
from tests.support.processes import http_json
from tests.support.stack import always_open_rules

pytestmark = pytest.mark.browser

SALES, SUPPORT = "106540352242922", "106540352242933"


def two_numbers(workdir: Path) -> Path:
    """A rules folder: both numbers answer by the shipped rules, each under its own name."""
    folder = workdir / "numbers"
    folder.mkdir()
    always_open_rules(folder)
    listing = {
        "default": "rules.yaml",
        "numbers": {
            SALES: {"name": "Vendas", "rules": "rules.yaml", "colour": "#2563eb"},
            SUPPORT: {"name": "Suporte", "rules": "rules.yaml", "colour": "#16a34a"},
        },
    }
    (folder / "numbers.yaml").write_text(yaml.safe_dump(listing))
    return folder


def asks_on(stack, number: str, wa_id: str, name: str) -> None:  # type: ignore[no-untyped-def]
    body = {"from": wa_id, "name": name, "text": "quero falar com um atendente", "phone_number_id": number}
    status, answer = http_json("POST", f"{stack.base}/sandbox/messages", body)
    assert status == 202, answer


def test_an_agent_of_two_numbers_sees_each_ones_name_and_filters_by_it(browser, redis_url, tmp_path):
    from tests.support.stack import Stack

    stack = Stack(redis_url, tmp_path).start(HANDOVER_RULES=str(two_numbers(tmp_path)))
    try:
        both = stack.add_agent("Ana Souza", ["general"], numbers=[SALES, SUPPORT])
        sales_only = stack.add_agent("Bruno Lima", ["general"], numbers=[SALES])
        asks_on(stack, SALES, "5511987040001", "Rita Prado")
        asks_on(stack, SUPPORT, "5511987040002", "Caio Reis")
        waiting_id(stack, "5511987040001", both["token"])
        waiting_id(stack, "5511987040002", both["token"])

        desk = new_page(browser)
        sign_in(desk, stack.base, both["token"])
        queues = desk.get_by_test_id("queue")
        expect(queues.filter(has_text="Vendas")).to_have_count(1)
        expect(queues.filter(has_text="Suporte")).to_have_count(1)
        picker = desk.get_by_test_id("number-filter")
        expect(picker).to_be_visible()
        picker.select_option(SUPPORT)
        expect(queues).to_have_count(1)
        expect(queues.first).to_have_attribute("data-number", SUPPORT)
        desk.get_by_test_id("take-next").click()
        expect(desk.get_by_test_id("customer-name")).to_have_text("Caio Reis")
        mark = desk.get_by_test_id("conversation").get_by_test_id("number-mark")
        expect(mark).to_have_text("Suporte")
        expect(queues.first).to_have_attribute("data-waiting", "0")  # Caio is no longer waiting
        screenshot(desk, "numbers-two-numbers-desk")
        picker.select_option("")  # every number again: Rita, of the other number, still waits
        expect(queues.filter(has_text="Vendas")).to_have_attribute("data-waiting", "1")

        alone = new_page(browser)
        sign_in(alone, stack.base, sales_only["token"])
        expect(alone.get_by_test_id("number-filter")).to_be_hidden()
        expect(alone.get_by_test_id("number-mark")).to_have_count(0)
        alone.get_by_test_id("take-next").click()
        expect(alone.get_by_test_id("customer-name")).to_have_text("Rita Prado")
        screenshot(alone, "numbers-one-number-desk")
    finally:
        stack.stop()
