"""A customer's photo, voice note and document, sent from the phone simulator, reach the agent's console:
the photo inline, the voice note in a player that plays from a short-lived media link (not a blob of the
whole file), the document as a download with its name (through the link too)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_desk_console import LIVE
from tests.browser.test_simulator import open_phone, say
from webhooks.sandbox_media import SAMPLES

pytestmark = pytest.mark.browser


def test_what_the_customer_sends_the_agent_sees_hears_and_downloads(browser, stack):
    ana = stack.add_agent("Ana Souza", ["general"])
    phone = open_phone(browser, stack.base, "5511987011001", "Paula Dias")
    say(phone, "quero falar com um atendente")
    desk = new_page(browser)
    sign_in(desk, stack.base, ana["token"])
    expect(desk.get_by_test_id("queue-list")).to_contain_text("1 aguardando", timeout=LIVE)
    desk.get_by_test_id("take-next").click()
    expect(desk.get_by_test_id("packet")).to_contain_text("Paula Dias")

    phone.get_by_test_id("sim-input").fill("chegou assim")
    phone.get_by_test_id("sim-attach").click()
    phone.get_by_test_id("sim-attach-image").click()
    phone.get_by_test_id("sim-attach").click()
    phone.get_by_test_id("sim-attach-document").click()
    phone.get_by_test_id("sim-attach").click()
    phone.get_by_test_id("sim-attach-audio").click()

    image = desk.get_by_test_id("media-image")
    expect(image).to_be_visible(timeout=LIVE)
    desk.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=media-image]'); return i && i.naturalWidth > 0; }"
    )
    expect(desk.get_by_test_id("transcript")).to_contain_text("chegou assim")  # the caption
    audio = desk.get_by_test_id("media-audio")
    expect(audio).to_be_visible(timeout=LIVE)
    # the player streams from a short-lived link (range requests), not from a blob of the whole file
    desk.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=media-audio]'); return a && a.readyState >= 1; }",
        timeout=LIVE,
    )
    source = audio.evaluate("a => a.src")
    assert source.startswith(f"{stack.base}/api/v1/media/sandbox-voice?ticket="), source
    assert audio.evaluate("a => a.duration") == pytest.approx(1.0, abs=0.05)
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    desk.wait_for_function(
        "() => document.querySelector('[data-testid=media-audio]').currentTime > 0.2", timeout=LIVE
    )
    document = desk.get_by_test_id("media-document")
    expect(document).to_contain_text("receipt.pdf", timeout=LIVE)
    screenshot(desk, "console-customer-media")
    with desk.expect_download() as downloading:
        document.click()
    download = downloading.value
    assert download.suggested_filename == "receipt.pdf"
    assert download.path().read_bytes().startswith(b"%PDF")

    # and back: the agent attaches a photo, the text typed is its caption, and it goes with ticks
    desk.get_by_test_id("attach-input").set_input_files(str(SAMPLES / "photo.png"))
    expect(desk.get_by_test_id("attachment")).to_contain_text("photo.png")
    reply = desk.get_by_test_id("reply-input")
    reply.fill("Segue a foto da troca aprovada")
    reply.press("Enter")
    expect(desk.get_by_test_id("attachment")).to_be_hidden()
    mine = desk.locator("[data-testid=msg][data-direction=out]").last
    expect(mine.get_by_test_id("media-image")).to_be_visible(timeout=LIVE)
    expect(mine).to_contain_text("Segue a foto da troca aprovada")
    expect(mine).to_have_attribute("data-status", re.compile("sent|delivered|read"), timeout=LIVE)
    screenshot(desk, "console-agent-sent-media")
    sent = [m for m in stack.outbox("5511987011001") if m.get("kind") == "media"]
    assert sent and sent[-1]["media_type"] == "image" and sent[-1]["text"] == "Segue a foto da troca aprovada"
    phone.close()
