"""The packet in the reader's language (issue 29, item 5), in a real browser against real processes: an
English console reads the summary in English although the rules speak Portuguese, a Portuguese one in
Portuguese; and a directory name that is not the customer's WhatsApp name is flagged."""

from __future__ import annotations

import time

import pytest
import redis
from playwright.sync_api import expect

from handover import keys
from handover.identity import VerifiedIdentity
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_desk_console import asks_for_a_person

pytestmark = pytest.mark.browser


def test_each_console_reads_the_summary_in_its_own_language(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    asks_for_a_person(stack, "5511987020001", "Rita Prado", ana["token"])
    english = new_page(browser, locale="en-US")
    sign_in(english, stack.base, ana["token"])
    english.get_by_test_id("take-next").click()
    summary = english.get_by_test_id("packet-summary")
    expect(summary).to_contain_text("identity not verified")
    expect(summary).to_contain_text("reason: customer_asked")
    expect(summary).not_to_contain_text("identidade")

    held = stack_conversation(stack, ana)
    status, detail = stack.api("GET", f"/conversations/{held}?lang=pt", ana["token"])
    assert status == 200 and "identidade não verificada" in detail["packet"]["summary"]
    status, error = stack.api("GET", f"/conversations/{held}?lang=xx", ana["token"])
    assert (status, error["error"]["code"]) == (422, "invalid")


def stack_conversation(stack, agent) -> str:  # type: ignore[no-untyped-def]
    status, mine = stack.api("GET", "/conversations?state=assigned", agent["token"])
    assert status == 200 and mine
    return str(mine[0]["id"])


def test_a_directory_name_unlike_the_whatsapp_name_is_flagged(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    cid = asks_for_a_person(stack, "5511987020002", "Rita Prado", ana["token"])
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    verified = VerifiedIdentity(
        method="cpf+birth_date", verified_at=time.time(), display_name="Marta Quintela"
    )
    client.hset(keys.conversation_key(cid), "identity", verified.model_dump_json())
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    flag = desk.get_by_test_id("name-mismatch")
    expect(flag).to_contain_text("Marta Quintela")
    assert "diferente do nome no WhatsApp" in (flag.get_attribute("title") or "")
    screenshot(desk, "console-name-mismatch")
