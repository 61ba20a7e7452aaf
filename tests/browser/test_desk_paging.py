"""The console's lists page (issue 15): the supervisor's list shows the first page, "load more" (from the
keyboard) brings the next with the cursor, a customer who starts waiting appears at the top live, without
the list being loaded again from the start, and the filters narrow it."""

from __future__ import annotations

import time

import pytest
import redis
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.waiting import seed_waiting

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: a liveness bound for what goes through the worker, not a speed assertion
PAGE = 50  # the console's page size (desk/static/console-paging.js)


def test_the_supervisor_pages_through_the_list_and_sees_a_newcomer_live(browser, stack, redis_url):
    sara = stack.add_agent("Sara Supervisora", ["general"], role="supervisor", capacity=5)
    now = time.time()
    waiting = seed_waiting(
        redis.Redis.from_url(redis_url, decode_responses=True),
        [
            (f"551198700{i:04d}", "billing" if i % 4 == 0 else "general", now - 600 + i)
            for i in range(PAGE + 7)
        ],
    )
    newest_first = [c.id for c in reversed(waiting)]

    board = new_page(browser)
    sign_in(board, stack.base, sara["token"])
    board.get_by_test_id("supervisor-tab").click()
    rows = board.get_by_test_id("supervisor-conversation")
    expect(rows).to_have_count(PAGE)
    expect(rows.first).to_have_attribute("data-id", newest_first[0])
    more = board.get_by_test_id("supervisor-more")
    expect(more).to_be_visible()

    more.focus()
    board.keyboard.press("Enter")
    expect(rows).to_have_count(PAGE + 7)
    expect(more).to_be_hidden()
    assert rows.evaluate_all("rows => rows.map((row) => row.dataset.id)") == newest_first
    expect(board.get_by_test_id("supervisor-shown")).to_contain_text(str(PAGE + 7))

    stack.customer_says("5511987099999", "quero falar com um atendente", "Nova Cliente")
    expect(rows.first).to_contain_text("Nova Cliente", timeout=LIVE)
    expect(rows.first).to_have_attribute("data-state", "queued")
    expect(rows).to_have_count(PAGE + 8)  # inserted; nothing shown was lost or repeated
    board.get_by_test_id("supervisor-filter-state").scroll_into_view_if_needed()
    screenshot(board, "console-supervisor-paged")

    board.get_by_test_id("supervisor-filter-queue").select_option("billing")
    billing = [c.id for c in reversed(waiting) if c.queue == "billing"]
    expect(rows).to_have_count(len(billing))
    assert rows.evaluate_all("rows => rows.map((row) => row.dataset.id)") == billing
    board.get_by_test_id("supervisor-filter-state").select_option("assigned")
    expect(board.get_by_test_id("supervisor-conversations")).to_contain_text("Nenhuma conversa")
