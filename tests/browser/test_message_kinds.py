"""Every kind of customer message shown as the customer meant it (issue 29, item 1), in a real browser against
real processes: the bodies go through the real webhook (signed, as Meta sends them; shapes from Meta's
"Webhooks: messages" reference and the pywa fixtures in tests/data/pywa-updates) and the real worker. A
reaction sits on the message it reacts to, an edit updates it (the earlier text on demand), a deletion marks
it and hides its text, a quoted reply shows what it quotes, a contact card shows names and numbers, a Flow
answer its fields, a place its name and address, and an undeliverable message says so. In Portuguese and
in English."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_desk_console import LIVE, waiting_id
from tests.support.processes import http_json
from tests.support.webhook import body, edit_message, signed, text_message

pytestmark = pytest.mark.browser

WA = "5511987030001"


def post(line, *messages: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    raw, headers = signed(body(list(messages), names={WA: "Lia Campos"}))
    status, _ = http_json("POST", f"{line.base}/webhook", headers=headers, data=raw)
    assert status == 200


def message(message_id: str, wa_type: str, content: Any, **extra: Any) -> dict[str, Any]:
    sent = {
        "from": WA,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": wa_type,
        wa_type: content,
    }
    return sent | extra


def customer_sends_every_kind(line) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    post(line, text_message("wamid.K1", WA, "meu pedido é o 4455", now))
    post(line, message("wamid.K2", "reaction", {"message_id": "wamid.K1", "emoji": "👍"}))
    post(line, edit_message("wamid.K3", WA, "wamid.K1", "meu pedido é o 4456", now))
    post(line, text_message("wamid.K4", WA, "cancela tudo", now))
    post(line, message("wamid.K5", "revoke", {"original_message_id": "wamid.K4"}))
    post(line, text_message("wamid.K6", WA, "esse mesmo", now) | {"context": {"from": WA, "id": "wamid.K1"}})
    card = {
        "name": {"formatted_name": "Joana Reis", "first_name": "Joana"},
        "phones": [{"phone": "+55 11 98888-7777", "wa_id": "5511988887777", "type": "CELL"}],
    }
    post(line, message("wamid.K7", "contacts", [card]))
    place = {
        "latitude": -23.5614,
        "longitude": -46.6559,
        "name": "Loja Paulista",
        "address": "Av. Paulista, 1000",
    }
    post(line, message("wamid.K8", "location", place))
    flow = {
        "type": "nfm_reply",
        "nfm_reply": {
            "name": "flow",
            "body": "Sent",
            "response_json": json.dumps({"flow_token": "t0k", "motivo": "produto com defeito", "nota": 2}),
        },
    }
    post(line, message("wamid.K9", "interactive", flow))
    unsupported = {"from": WA, "id": "wamid.K10", "timestamp": str(now), "type": "unsupported",
                   "errors": [{"code": 131051, "title": "Message type unknown"}]}  # fmt: skip
    post(line, unsupported)


@pytest.mark.parametrize("locale", ["pt-BR", "en-US"])
def test_every_kind_is_shown_as_the_customer_meant_it(browser, line, locale):
    ana = line.add_agent("Ana Souza", ["general"])
    post(line, text_message("wamid.K0", WA, "quero falar com um atendente", int(time.time())))
    waiting_id(line, WA, ana["token"])
    desk = new_page(browser, locale=locale)
    sign_in(desk, line.base, ana["token"])
    desk.get_by_test_id("take-next").click()
    english = locale == "en-US"
    customer_sends_every_kind(line)
    transcript = desk.get_by_test_id("transcript")
    expect(transcript.get_by_test_id("msg-unsupported")).to_be_visible(timeout=LIVE)

    first = transcript.locator("[data-id='wamid.K1']")
    expect(first).to_contain_text("meu pedido é o 4456")  # edited
    expect(first.get_by_test_id("msg-reaction")).to_have_text("👍")
    edited = first.get_by_test_id("msg-edited")
    expect(edited).to_contain_text("Edited" if english else "Editada")
    edited.locator("summary").click()
    expect(edited).to_contain_text("meu pedido é o 4455")
    # the reaction and the edit are marks on the first message, not bubbles of their own
    expect(transcript.locator("[data-id='wamid.K2'], [data-id='wamid.K3']")).to_have_count(0)

    deleted = transcript.locator("[data-id='wamid.K4']")
    expect(deleted.get_by_test_id("msg-revoked")).to_contain_text("Deleted" if english else "Apagada")
    expect(deleted.locator("details.revoked-text")).not_to_have_attribute("open", "")
    expect(deleted.get_by_text("cancela tudo")).not_to_be_visible()  # hidden until asked
    expect(transcript.locator("[data-id='wamid.K5']")).to_have_count(0)

    quote = transcript.locator("[data-id='wamid.K6']").get_by_test_id("msg-quote")
    expect(quote).to_contain_text("In reply to" if english else "Em resposta a")
    expect(quote).to_contain_text("meu pedido é o 4456")

    card = transcript.locator("[data-id='wamid.K7']").get_by_test_id("msg-contacts")
    expect(card).to_contain_text("Joana Reis")
    expect(card).to_contain_text("+55 11 98888-7777")
    expect(card.get_by_test_id("copy")).to_have_count(1)

    place = transcript.locator("[data-id='wamid.K8']")
    expect(place.get_by_test_id("msg-location")).to_contain_text("Loja Paulista")
    expect(place.get_by_test_id("msg-location")).to_contain_text("Av. Paulista, 1000")
    expect(place.get_by_test_id("media-location")).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=-23.5614&mlon=-46.6559#map=17/-23.5614/-46.6559"
    )

    flow = transcript.locator("[data-id='wamid.K9']").get_by_test_id("msg-flow")
    expect(flow).to_contain_text("produto com defeito")
    expect(flow).not_to_contain_text("t0k")  # the flow's token is not the customer's answer

    unsupported = transcript.locator("[data-id='wamid.K10']")
    expect(unsupported).to_contain_text("could not deliver" if english else "não conseguiu entregar")
    expect(transcript).not_to_contain_text("[contacts]")
    expect(transcript).not_to_contain_text("[unsupported]")
    screenshot(desk, f"console-message-kinds-{locale}-top")
    transcript.evaluate("element => { element.scrollTop = element.scrollHeight; }")
    screenshot(desk, f"console-message-kinds-{locale}-bottom")
