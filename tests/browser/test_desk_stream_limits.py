"""The console when the server ends its live stream (issue 16, items 2 and 3): a tab whose stream another
tab replaced says so and waits for a click (two tabs never take it from each other in a loop), and a
removed agent's console signs out."""

from __future__ import annotations

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.support.processes import ROOT, Process
from tests.support.stack import Stack

RECONNECT_BACKOFF_MS = 3000  # longer than the console's first reconnection delay (0.5 to 1 s)


@pytest.fixture
def one_stream(redis_url, tmp_path):
    """A stack whose agents may hold one live stream each: the second tab replaces the first."""
    running = Stack(redis_url, tmp_path).start(HANDOVER_STREAMS_PER_AGENT="1")
    try:
        yield running
    finally:
        running.stop()


def test_a_replaced_tab_waits_for_a_click_and_two_tabs_never_loop(browser, one_stream):
    ana = one_stream.add_agent("Ana Souza", ["general"])
    first, second = new_page(browser), new_page(browser)
    sign_in(first, one_stream.base, ana["token"])
    sign_in(second, one_stream.base, ana["token"])

    expect(first.get_by_test_id("live-status")).to_have_attribute("data-state", "replaced")
    expect(first.get_by_test_id("live-status")).to_contain_text("Aberto em outra aba")
    screenshot(first, "desk-stream-replaced")
    first.wait_for_timeout(RECONNECT_BACKOFF_MS)  # it did not reconnect (and take the stream back) by itself
    expect(first.get_by_test_id("live-status")).to_have_attribute("data-state", "replaced")
    expect(second.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    expect(second.get_by_test_id("live-resume")).to_be_hidden()

    first.get_by_test_id("live-resume").click()  # "use here": this tab takes the stream back
    expect(first.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    expect(second.get_by_test_id("live-status")).to_have_attribute("data-state", "replaced")
    second.wait_for_timeout(RECONNECT_BACKOFF_MS)
    expect(second.get_by_test_id("live-status")).to_have_attribute("data-state", "replaced")
    expect(first.get_by_test_id("live-status")).to_have_attribute("data-state", "live")


def test_a_removed_agents_console_signs_out(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    page = new_page(browser)
    sign_in(page, stack.base, ana["token"])

    env = Process([], stack.env, stack.workdir / "cli.log").env
    subprocess.run(
        [sys.executable, "-m", "app.cli", "agents", "remove", ana["id"]], cwd=ROOT, env=env, check=True
    )

    expect(page.get_by_test_id("signin-token")).to_be_visible()
    expect(page.get_by_text("Seu acesso ao atendimento foi removido.")).to_be_visible()
