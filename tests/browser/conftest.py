"""Browser tests: Playwright for Python driving Debian's Chromium (never a downloaded browser).

`scripts/ensure-test-tools` installs /usr/bin/chromium; the `stack` fixture runs redis-server,
`handover serve` and `handover worker` as processes, in sandbox mode. Screenshots go to
`test-artifacts/screenshots/` (kept by CI as artifacts; look at them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.fakes.graph_server import FakeGraph
from tests.support.stack import Stack

CHROMIUM = os.environ.get("HANDOVER_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# As root in a container, with a closed network: no sandbox, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():  # never skipped: the browser tests are part of the suite
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs it (scripts/ensure-test-tools)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(redis_url, tmp_path).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def line(redis_url: str, tmp_path: Path, graph: FakeGraph) -> Iterator[Stack]:
    """A stack with a WhatsApp token, talking to the fake Graph API: sends can fail as Meta's do."""
    running = Stack(redis_url, tmp_path).start_on_line(graph.base_url)
    try:
        yield running
    finally:
        running.stop()


# What went wrong inside the pages during a test: uncaught script errors, and anything the
# Content-Security-Policy blocked. Either fails the test (see _pages_without_errors).
PAGE_ERRORS: list[str] = []


def new_page(browser, locale: str = "pt-BR"):  # type: ignore[no-untyped-def]
    """A fresh browser context (own storage) at 1280x800, the size the console must be readable at."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
    page = context.new_page()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(f"{page.url}: {error}"))
    page.on(
        "console",
        lambda message: (
            PAGE_ERRORS.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return page


@pytest.fixture(autouse=True)
def _pages_without_errors() -> Iterator[None]:
    PAGE_ERRORS.clear()
    yield
    assert PAGE_ERRORS == [], "the pages logged errors"


def sign_in(page, base: str, token: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the form, as an agent does, and wait for the live stream."""
    page.goto(f"{base}/")
    page.get_by_test_id("signin-token").fill(token)
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("take-next")).to_be_visible()
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    assert token not in page.url


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
