"""Issue 29 items 3 and 4 in a real browser against real processes: the transcript tells the agent that the
customer changed number (both numbers) and marks what a person sent from the WhatsApp Business app, in
Portuguese and in English."""

from __future__ import annotations

import time

import pytest
import redis
from playwright.sync_api import expect

from handover.coexistence import AUTHOR
from handover.message import DeliveryStatus
from handover.rekey import KIND
from handover.store import Store
from handover.transcript import Delivery, TranscriptEntry
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_desk_console import asks_for_a_person

pytestmark = pytest.mark.browser

OLD, NEW = "5511987030001", "5521998030002"


def written_down(stack, conversation_id: str) -> None:  # type: ignore[no-untyped-def]
    """What the worker writes for Meta's user_changed_number and for an echo (tests/unit/test_number_change.py
    and test_phone_takeover.py drive those through the processor)."""
    store = Store(redis.Redis.from_url(stack.redis_url, decode_responses=True))
    now = time.time()
    change = TranscriptEntry(
        id="wamid.change", direction="in", at=now, kind=KIND, author="system",
        content={"change": "user_changed_number", "from": OLD, "to": NEW},
    )  # fmt: skip
    phone = TranscriptEntry(
        id="wamid.echo", direction="out", at=now + 1, kind="text", author=AUTHOR, text="Oi Rita, é a Júlia!",
        delivery=Delivery(status=DeliveryStatus.SENT, wa_message_id="wamid.echo"),
    )  # fmt: skip
    with store.client.pipeline(transaction=True) as pipe:
        store.append_entry(pipe, conversation_id, change)
        store.append_entry(pipe, conversation_id, phone)
        pipe.execute()


@pytest.mark.parametrize(
    ("locale", "changed", "from_phone"),
    [
        ("pt-BR", f"O cliente trocou de número: +{OLD} → +{NEW}", "Enviada pelo celular"),
        ("en-US", f"The customer changed number: +{OLD} → +{NEW}", "Sent from the phone"),
    ],
)
def test_a_number_change_and_a_message_from_the_phone_read_in_the_consoles_language(
    browser, stack, locale, changed, from_phone
):
    ana = stack.add_agent("Ana Souza", ["general"])
    cid = asks_for_a_person(stack, OLD, "Rita Prado", ana["token"])
    written_down(stack, cid)
    desk = new_page(browser, locale=locale)
    sign_in(desk, stack.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    messages = desk.get_by_test_id("conversation-view").get_by_test_id("msg")
    expect(messages.filter(has_text=changed)).to_have_count(1)
    sent = messages.filter(has_text="Oi Rita, é a Júlia!")
    expect(sent).to_contain_text(from_phone)
    assert sent.get_attribute("data-author") == "phone"
    screenshot(desk, f"console-number-change-{locale}")
