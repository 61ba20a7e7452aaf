"""Issue 33 item 4 in a real browser against real processes: the Bot tab's hooks panel shows each hook with
what it delivered and failed, a failing hook's breaker open after five failures in a row, and the last
failed attempts; the URL cut to its host for a supervisor (a Slack webhook's URL is a secret)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_bot_tab import open_bot_tab
from tests.fakes.hook_receiver import HookReceiver
from tests.support.cli import handover
from tests.support.processes import wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.browser


def test_a_supervisor_sees_the_hooks_and_a_failing_ones_breaker_open(browser, redis_url, tmp_path):
    crm, broken = HookReceiver.start_in_thread(), HookReceiver.start_in_thread(answer=500)
    stack = Stack(redis_url, tmp_path).start(HANDOVER_HOOKS_ALLOW="127.0.0.1")
    try:
        env = {"REDIS_URL": redis_url, "HANDOVER_HOOKS_ALLOW": "127.0.0.1"}
        made = {}
        for name, receiver in (("crm", crm), ("broken", broken)):
            argv = ["hooks", "add", receiver.url, "--events", "handed_over", "--json"]
            result = handover(argv, env, tmp_path)
            assert result.returncode == 0, result.stderr
            made[name] = json.loads(result.stdout)["id"]
        sara = stack.add_agent("Sara Supervisora", ["general"], role="supervisor")
        for n in range(6):
            stack.customer_says(f"55119870700{n:02d}", "quero falar com um atendente", f"Cliente {n}")
        wait_for(lambda: len(crm.taken()) >= 6 or None, 30, "six handovers at the CRM")
        wait_for(lambda: len(broken.taken()) >= 5 or None, 30, "five failures at the broken hook")

        page = new_page(browser)
        sign_in(page, stack.base, sara["token"])
        open_bot_tab(page)
        good = page.locator(f"[data-testid=hook][data-hook='{made['crm']}']")
        expect(good).to_have_attribute("data-breaker", "closed")
        expect(good).to_contain_text(f"http://127.0.0.1:{crm.port}/…")
        expect(good.locator("td.num").first).to_have_text("6")
        bad = page.locator(f"[data-testid=hook][data-hook='{made['broken']}']")
        expect(bad).to_have_attribute("data-breaker", "open")
        expect(bad).to_contain_text("Pausado após falhas")
        failures = page.locator(f"[data-testid=hook-failure][data-hook='{made['broken']}']")
        expect(failures.first).to_contain_text("answered 500")
        for part in ("hooks-list", "bot-audit"):  # never the whole URL
            expect(page.get_by_test_id(part)).not_to_contain_text("/hooks/in")
        page.get_by_test_id("hooks-list").scroll_into_view_if_needed()
        screenshot(page, "bot-tab-hooks")
    finally:
        stack.stop()
        crm.stop()
        broken.stop()
