"""normalize(): every recorded webhook body (pywa's 74 and ours) read into our types, and hostile input."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from handover.message import DeliveryStatus, InboundKind
from webhooks.errors import NotWhatsAppPayload
from webhooks.normalize import Normalized, normalize

HERE = Path(__file__).resolve()
OURS_DIR = HERE.parents[1] / "data" / "webhooks"
PYWA_DIR = Path(os.environ.get("PYWA_FIXTURES") or HERE.parents[3] / "shared" / "fixtures" / "pywa-updates")


def scenarios(folder: Path, prefix: str) -> dict[str, dict[str, Any]]:
    """`prefix/file/scenario` -> body, for every JSON file of scenario bodies in a folder."""
    return {
        f"{prefix}/{path.stem}/{name}": body
        for path in sorted(folder.glob("*.json"))
        for name, body in json.loads(path.read_text()).items()
    }


PYWA = scenarios(PYWA_DIR, "pywa")
OURS = scenarios(OURS_DIR, "ours")
ALL = PYWA | OURS
WABA = "whatsapp_business_account"
DELIVERY = {s.value for s in DeliveryStatus}

# Customers: pywa's single test customer, and ours (São Paulo store number, Rio support number).
PYWA_CUSTOMER = "US.13491208655302741918"
ANA = "BR.1502576394655843"
MARCOS = "BR.4419027736518820"
CARLOS = "BR.7730185529641107"
BIA = "BR.8827361549201736"
LOJA = "104857600123456"
SUPORTE = "104857600654321"
# Our outbound messages the customers answered (context.id of their replies).
ASKED_ORDER = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjVFNEM3QzM1ODgzNEEyRDEzMgA="
BUTTONS_MENU = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjdFNTU1QjlEMUFFNzJENTRGNgA="
LIST_MENU = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjE5MDk0REI5QUQwM0JBRTg2MAA="
COMPLAINT_FLOW = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjgwMEU2M0EyRjhGMUZDRThFQQA="
DELIVERY_TEMPLATE = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjI1RTRDMjIzQkRDQ0I2RDZCNQA="


def test_all_74_pywa_bodies_are_found():
    assert len(PYWA) == 74, f"expected pywa's 74 recorded bodies under {PYWA_DIR}"


def held_in(body: dict[str, Any]) -> tuple[list[str], list[str], int]:
    """What a body holds, counted from the raw JSON: message ids, delivery-status ids, other events."""
    messages: list[str] = []
    statuses: list[str] = []
    others = 0
    for entry in body["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            if change["field"] != "messages":
                others += 1
                continue
            messages += [m["id"] for m in value.get("messages", [])]
            for status in value.get("statuses", []):
                if status.get("type") != "call" and status["status"] in DELIVERY:
                    statuses.append(status["id"])
                else:
                    others += 1
            others += bool(value.get("errors"))
            others += not (value.get("messages") or value.get("statuses") or value.get("errors"))
    return messages, statuses, others


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_recorded_body_is_read_whole_and_nothing_is_rejected(name):
    body = ALL[name]
    result = normalize(body)
    messages, statuses, others = held_in(body)
    assert result.rejected == []
    assert [m.id for m in result.messages] == messages
    assert [s.message_id for s in result.statuses] == statuses
    assert len(result.others) == others


class Expect(NamedTuple):
    kind: InboundKind
    text: str | None
    reply_id: str | None
    media_id: str | None
    context_id: str | None
    customer: str  # CustomerRef.key


K = InboundKind
MESSAGES = {
    # --- ours
    "ours/messages/request_welcome": Expect(K.REQUEST_WELCOME, None, None, None, None, ANA),
    "ours/messages/reply_to_agent": Expect(K.TEXT, "Isso, é o pedido 48213", None, None, ASKED_ORDER, ANA),
    "ours/messages/document_with_caption": Expect(
        K.DOCUMENT, "Segue o comprovante de pagamento", None, "1187443922318845", None, ANA
    ),
    "ours/messages/voice_note": Expect(K.AUDIO, None, None, "902211334455667", None, ANA),
    "ours/messages/unknown_future_type": Expect(K.UNKNOWN, None, None, None, None, ANA),
    "ours/interactive/button_reply": Expect(
        K.BUTTON_REPLY, "Falar com atendente", "falar_com_atendente", None, BUTTONS_MENU, ANA
    ),
    "ours/interactive/list_reply": Expect(
        K.LIST_REPLY, "2ª via do boleto", "segunda_via_boleto", None, LIST_MENU, ANA
    ),
    "ours/interactive/flow_reply": Expect(K.FLOW_REPLY, "Sent", None, None, COMPLAINT_FLOW, ANA),
    "ours/interactive/template_quick_reply": Expect(
        K.TEMPLATE_BUTTON, "Confirmar entrega", "CONFIRMAR_ENTREGA", None, DELIVERY_TEMPLATE, ANA
    ),
    "ours/customers/username_only": Expect(K.TEXT, "Oi, meu pedido não chegou", None, None, None, BIA),
    "ours/batches/value_errors": Expect(K.TEXT, "alô?", None, None, None, ANA),
    # --- pywa
    "pywa/message/text": Expect(K.TEXT, "Body Text", None, None, None, PYWA_CUSTOMER),
    "pywa/message/image": Expect(K.IMAGE, None, None, "65463453", None, PYWA_CUSTOMER),
    "pywa/message/media_with_url": Expect(K.IMAGE, None, None, "65463453", None, PYWA_CUSTOMER),
    "pywa/message/video": Expect(K.VIDEO, "caption", None, "765756756", None, PYWA_CUSTOMER),
    "pywa/message/document": Expect(K.DOCUMENT, "caption", None, "1234567890987654321", None, PYWA_CUSTOMER),
    "pywa/message/audio": Expect(K.AUDIO, None, None, "1234567890987654321", None, PYWA_CUSTOMER),
    "pywa/message/voice": Expect(K.AUDIO, None, None, "1234567890987654321", None, PYWA_CUSTOMER),
    "pywa/message/static_sticker": Expect(K.STICKER, None, None, "1234567890987654321", None, PYWA_CUSTOMER),
    "pywa/message/animated_sticker": Expect(
        K.STICKER, None, None, "1234567890987654321", None, PYWA_CUSTOMER
    ),
    "pywa/message/reaction": Expect(K.REACTION, "\U0001f62e", None, None, "wamid.yzxyzx=", PYWA_CUSTOMER),
    "pywa/message/unreaction_empty": Expect(K.REACTION, None, None, None, "wamid.yzxyzx=", PYWA_CUSTOMER),
    "pywa/message/unreaction_no_emoji": Expect(K.REACTION, None, None, None, "wamid.yzxyzx=", PYWA_CUSTOMER),
    "pywa/message/current_location": Expect(K.LOCATION, None, None, None, None, PYWA_CUSTOMER),
    "pywa/message/chosen_location": Expect(K.LOCATION, "Facebook HQ", None, None, None, PYWA_CUSTOMER),
    "pywa/message/contacts": Expect(K.CONTACTS, None, None, None, None, PYWA_CUSTOMER),
    "pywa/message/order": Expect(K.ORDER, None, None, None, None, PYWA_CUSTOMER),
    "pywa/message/unsupported": Expect(K.UNSUPPORTED, None, None, None, None, PYWA_CUSTOMER),
    "pywa/message/unsupported_with_type": Expect(K.UNSUPPORTED, None, None, None, None, PYWA_CUSTOMER),
    "pywa/message/reply": Expect(K.TEXT, "replied text", None, None, "wamid.xyzxyz==", PYWA_CUSTOMER),
    "pywa/message/forwarded": Expect(K.TEXT, "forwarded text", None, None, None, PYWA_CUSTOMER),
    "pywa/message/forwarded_many_times": Expect(
        K.TEXT, "text forwarded many times", None, None, None, PYWA_CUSTOMER
    ),
    "pywa/message/interactive_message_with_err": Expect(
        K.UNKNOWN, None, None, None, "wamid.gvwegfretge==", PYWA_CUSTOMER
    ),
    "pywa/message/referral": Expect(K.TEXT, "BODY", None, None, None, PYWA_CUSTOMER),
    "pywa/callback_button/button": Expect(
        K.BUTTON_REPLY, "title", "callback_data", None, "wamid.xyzxyz", PYWA_CUSTOMER
    ),
    "pywa/callback_button/quick_reply": Expect(
        K.TEMPLATE_BUTTON, "title", "callback_data", None, "wamid.xyzxyz==", PYWA_CUSTOMER
    ),
    "pywa/callback_button/quick_reply_without_context": Expect(
        K.TEMPLATE_BUTTON, "title", "callback_data", None, None, PYWA_CUSTOMER
    ),
    "pywa/callback_selection/callback": Expect(
        K.LIST_REPLY, "title", "callback_data", None, "wamid.xyzxyz", PYWA_CUSTOMER
    ),
    "pywa/callback_selection/description": Expect(
        K.LIST_REPLY, "title", "callback_data", None, "wamid.xyzxyz", PYWA_CUSTOMER
    ),
    "pywa/flow_completion/completion": Expect(
        K.FLOW_REPLY, "Sent", None, None, "wamid.gvwegfretge==", PYWA_CUSTOMER
    ),
    "pywa/flow_completion/without_flow_token": Expect(
        K.FLOW_REPLY, "Sent", None, None, "wamid.gvwegfretge==", PYWA_CUSTOMER
    ),
    # an interactive reply we have no kind for (call permission) stays UNKNOWN, its content kept
    "pywa/call_permission_update/accept": Expect(K.UNKNOWN, None, None, None, "wamid.y==", PYWA_CUSTOMER),
    "pywa/call_permission_update/reject": Expect(K.UNKNOWN, None, None, None, "wamid.y==", PYWA_CUSTOMER),
    # the recorded contact's wa_id differs from `from` here, so the contact is not trusted to be the sender
    "pywa/deleted_message/revoke": Expect(
        K.REVOKE, None, None, None, "<ORIGINAL_WHATSAPP_MESSAGE_ID>", "<WHATSAPP_USER_PHONE_NUMBER>"
    ),
    "pywa/edited_message/image": Expect(
        K.EDIT,
        "Updated image caption",
        None,
        None,
        "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
        "16505551234",
    ),
    "pywa/system/phone_number_change": Expect(
        K.SYSTEM, "User A changed from 972987654321 to 972912345678", None, None, None, "972987654321"
    ),
    "pywa/system/identity_change": Expect(
        K.SYSTEM, "User identity changed", None, None, None, "972987654321"
    ),
}


def test_every_body_with_a_single_message_has_an_expectation():
    # ours/shapes/ is the older table's data, checked by test_payload_shapes.py
    single = {n for n, body in ALL.items() if len(held_in(body)[0]) == 1 and not n.startswith("ours/shapes/")}
    assert single == set(MESSAGES)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_message_reads_as_expected(name):
    [message] = normalize(ALL[name]).messages
    got = Expect(
        message.kind,
        message.text,
        message.reply_id,
        message.media_id,
        message.context_id,
        message.customer.key,
    )
    assert got == MESSAGES[name]


def only_message(name: str):
    [message] = normalize(ALL[name]).messages
    return message


def test_message_fields_common_to_every_type():
    message = only_message("pywa/message/text")
    assert message.id == "wamid.xyzxyz"
    assert message.timestamp == 1697043223
    assert message.wa_type == "text"
    assert message.content == {"body": "Body Text"}
    assert message.customer.model_dump() == {
        "phone_number_id": "1122334455667",
        "wa_id": "972987654321",
        "user_id": PYWA_CUSTOMER,
        "username": None,
        "profile_name": "Test Name",
    }


def test_a_customer_known_only_by_username_has_no_phone_number():
    customer = only_message("ours/customers/username_only").customer
    assert customer.model_dump() == {
        "phone_number_id": LOJA,
        "wa_id": None,
        "user_id": BIA,
        "username": "bia.compras",
        "profile_name": "Bia",
    }
    assert customer.address == BIA


def test_each_message_finds_its_own_contact_by_wa_id_or_user_id():
    marcos, ana = normalize(ALL["ours/customers/two_customers"]).messages
    assert (marcos.customer.key, marcos.customer.wa_id, marcos.customer.profile_name) == (
        MARCOS,
        "5531991234567",
        "Marcos Oliveira",
    )
    # Ana's message carries only her user id; her phone number comes from her contact
    assert (ana.customer.key, ana.customer.wa_id, ana.customer.profile_name) == (
        ANA,
        "5511987654321",
        "Ana Souza",
    )


def test_media_keep_their_mime_type_and_object():
    voice = only_message("pywa/message/voice")
    assert (voice.mime_type, voice.content["voice"]) == ("audio/ogg; codecs=opus", True)
    document = only_message("ours/messages/document_with_caption")
    assert (document.mime_type, document.content["filename"]) == ("application/pdf", "comprovante.pdf")
    assert (
        only_message("pywa/message/media_with_url").content["url"].startswith("https://lookaside.fbsbx.com/")
    )


def test_replies_keep_the_whole_interactive_object():
    row = only_message("ours/interactive/list_reply")
    assert row.content["list_reply"]["description"] == "Receba o código de barras na hora"
    flow = only_message("ours/interactive/flow_reply")
    assert json.loads(flow.content["nfm_reply"]["response_json"])["motivo"] == "cobranca_indevida"
    permission = only_message("pywa/call_permission_update/accept")
    assert (permission.wa_type, permission.content["call_permission_reply"]["response"]) == (
        "interactive",
        "accept",
    )


def test_unknown_and_unsupported_types_keep_what_they_carry():
    future = only_message("ours/messages/unknown_future_type")
    assert future.wa_type == "poll_response"
    assert future.content["selected_options"] == [{"id": "opt_entrega", "title": "Entrega atrasada"}]
    unsupported = only_message("pywa/message/unsupported_with_type")
    assert unsupported.content == {"type": "pool"}
    assert [e["code"] for e in unsupported.errors] == [131051]


def test_shapes_that_are_not_objects_are_kept_under_their_type():
    contacts = only_message("pywa/message/contacts")
    assert [c["name"]["formatted_name"] for c in contacts.content["contacts"]] == [
        "Chandler Bing",
        "Monica",
        "Rachel Green",
    ]


def test_referral_order_system_edit_and_revoke_keep_their_objects():
    assert only_message("pywa/message/referral").referral["ctwa_clid"] == "CTWA_CLID"
    order = only_message("pywa/message/order")
    assert [i["product_retailer_id"] for i in order.content["product_items"]] == [
        "HAMBURGER",
        "FRENCH_FRIES",
        "SODA",
    ]
    assert only_message("pywa/system/phone_number_change").content["wa_id"] == "972912345678"
    edit = only_message("pywa/edited_message/image")
    assert edit.content["message"]["image"]["id"] == "1234567890"
    assert only_message("pywa/deleted_message/revoke").content == {
        "original_message_id": "<ORIGINAL_WHATSAPP_MESSAGE_ID>"
    }


def test_a_batch_of_two_entries_and_two_changes_is_read_whole():
    result = normalize(ALL["ours/batches/two_entries_two_changes"])
    assert [(m.text, m.customer.key, m.customer.phone_number_id) for m in result.messages] == [
        ("Bom dia", ANA, LOJA),
        ("Quero cancelar meu plano", ANA, LOJA),
        ("nota fiscal", CARLOS, SUPORTE),
        ("Podem verificar, por favor?", CARLOS, SUPORTE),
    ]
    assert [(s.status, s.recipient_id, s.phone_number_id) for s in result.statuses] == [
        (DeliveryStatus.SENT, "5511987654321", LOJA),
        (DeliveryStatus.DELIVERED, "5511987654321", LOJA),
        (DeliveryStatus.READ, "5511987654321", LOJA),
        (DeliveryStatus.READ, "5521998765432", SUPORTE),
    ]
    assert [(o.field, o.summary, o.value["message_template_language"]) for o in result.others] == [
        ("message_template_status_update", "template pedido_enviado APPROVED", "pt_BR")
    ]


def test_change_errors_are_kept_beside_the_messages():
    result = normalize(ALL["ours/batches/value_errors"])
    assert [m.text for m in result.messages] == ["alô?"]
    [event] = result.others
    assert (event.field, event.summary, event.phone_number_id) == (
        "errors",
        "131000 Something went wrong",
        LOJA,
    )
    assert event.value["errors"][0]["error_data"] == {"details": "Unsupported webhook payload"}


# scenario -> (status, recipient, error codes)
STATUSES = {
    "ours/statuses/failed_outside_window": (DeliveryStatus.FAILED, "5511987654321", [131047]),
    "ours/statuses/username_recipient": (DeliveryStatus.DELIVERED, BIA, []),
    "pywa/message_status/sent": (DeliveryStatus.SENT, "972987654321", []),
    "pywa/message_status/delivered": (DeliveryStatus.DELIVERED, "972987654321", []),
    "pywa/message_status/read": (DeliveryStatus.READ, "972987654321", []),
    "pywa/message_status/played": (DeliveryStatus.PLAYED, "972987654321", []),
    "pywa/message_status/failed": (DeliveryStatus.FAILED, "972987654321", [130472]),
    "pywa/message_status/with_tracker": (DeliveryStatus.SENT, "972987654321", []),
    "pywa/message_status/group": (DeliveryStatus.READ, "fowefinoewcnw", []),  # the group, not the participant
}


@pytest.mark.parametrize("name", sorted(STATUSES))
def test_status_reads_as_expected(name):
    [update] = normalize(ALL[name]).statuses
    assert (update.status, update.recipient_id, [e["code"] for e in update.errors]) == STATUSES[name]


def test_a_failed_status_keeps_the_whole_error():
    [update] = normalize(ALL["ours/statuses/failed_outside_window"]).statuses
    assert update.timestamp == 1776160300 and update.phone_number_id == LOJA
    assert update.errors[0]["title"] == "Re-engagement message"
    assert "24 hours" in update.errors[0]["error_data"]["details"]


# scenario -> (field, summary, phone_number_id)
OTHERS = {
    "pywa/template_status_update/approved": (
        "message_template_status_update",
        "template order_confirmation APPROVED",
        None,
    ),
    "pywa/template_status_update/rejected": (
        "message_template_status_update",
        "template abandoned_cart REJECTED",
        None,
    ),
    "pywa/template_category_update/marketing": (
        "template_category_update",
        "template my_message_template category MARKETING",
        None,
    ),
    "pywa/template_quality_update/yellow": (
        "message_template_quality_update",
        "template welcome_template quality YELLOW",
        None,
    ),
    "pywa/template_components_update/element": (
        "message_template_components_update",
        "template my_message_template updated",
        None,
    ),
    "pywa/account_update/account_deleted": ("account_update", "ACCOUNT_DELETED", None),
    "pywa/account_update/partner_removed_wa_app_disconnection": ("account_update", "PARTNER_REMOVED", None),
    "pywa/call_connect/user_initiated": ("calls", "calls connect", "743897493242"),
    "pywa/call_terminate/call_terminate": ("calls", "calls terminate", "37489742"),
    "pywa/call_status/call_status": ("calls", "statuses RINGING", "5483758353"),  # a call's status: not ours
    "pywa/outgoing_message/text": ("smb_message_echoes", "message_echoes text", "1122334455667"),
    "pywa/outgoing_message/delete": ("smb_message_echoes", "message_echoes revoke", "1122334455667"),
    "pywa/user_marketing_preferences/resume": (
        "user_preferences",
        "user_preferences resume",
        "106540352242922",
    ),
    "pywa/message/interactive_message_with_err": ("errors", "131000 Something went wrong", "1122334455667"),
}


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_changes_we_do_not_act_on_are_kept_as_events(name):
    body = ALL[name]
    [event] = normalize(body).others
    assert (event.field, event.summary, event.phone_number_id) == OTHERS[name]
    if event.field != "errors":
        assert event.value == body["entry"][0]["changes"][0]["value"]  # kept as received


# ---------------------------------------------------------------------------------------------- hostile input

GOOD = {
    "from": "5511987654321",
    "id": "wamid.GOOD",
    "timestamp": "1776160000",
    "type": "text",
    "text": {"body": "oi"},
}


def messages_change(messages=(), statuses=(), **other_parts: Any) -> dict[str, Any]:
    value = {"metadata": {"phone_number_id": LOJA}, **other_parts}
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"field": "messages", "value": value}


def webhook(*entries: Any) -> dict[str, Any]:
    return {"object": WABA, "entry": list(entries)}


def with_good_neighbour(*changes: Any) -> dict[str, Any]:
    """The changes under test in one entry, and a good message in another that must survive them."""
    return webhook({"id": "1", "changes": list(changes)}, {"id": "2", "changes": [messages_change([GOOD])]})


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "whatsapp_business_account",
        42,
        {},
        {"object": "page", "entry": []},
        {"object": "instagram", "entry": [{"changes": []}]},
        {"object": WABA},
        {"object": WABA, "entry": "nope"},
        {"object": WABA, "entry": {"id": "1"}},
        {"entry": []},
    ],
    ids=repr,
)
def test_a_body_that_is_not_a_whatsapp_webhook_raises_the_named_error(body):
    with pytest.raises(NotWhatsAppPayload):
        normalize(body)


def test_not_a_whatsapp_payload_is_a_value_error_so_callers_can_answer_400():
    assert issubclass(NotWhatsAppPayload, ValueError)


def message(**changes: Any) -> dict[str, Any]:
    """GOOD with some keys changed (a value of ... removes the key)."""
    changed = {**GOOD, "id": "wamid.ODD", **changes}
    return {k: v for k, v in changed.items() if v is not ...}


# case -> (body, words the reason must contain)
REJECTED = {
    "message without id": (with_good_neighbour(messages_change([message(id=...)])), "message without id"),
    "message with empty id": (with_good_neighbour(messages_change([message(id="")])), "message: id:"),
    "timestamp is a word": (
        with_good_neighbour(messages_change([message(timestamp="ontem")])),
        "message wamid.ODD: timestamp: Input should be a valid integer",
    ),
    "timestamp is a decimal": (
        with_good_neighbour(messages_change([message(timestamp="1776160000.5")])),
        "message wamid.ODD: timestamp:",
    ),
    "timestamp is an object": (
        with_good_neighbour(messages_change([message(timestamp={"s": 1})])),
        "message wamid.ODD: timestamp:",
    ),
    "timestamp is negative": (
        with_good_neighbour(messages_change([message(timestamp="-5")])),
        "message wamid.ODD: timestamp:",
    ),
    "timestamp missing": (
        with_good_neighbour(messages_change([message(timestamp=...)])),
        "message wamid.ODD without timestamp",
    ),
    "message without a sender": (
        with_good_neighbour(messages_change([message(**{"from": ...})])),
        "message wamid.ODD without a sender",
    ),
    "message is not an object": (
        with_good_neighbour(messages_change(["oi"])),
        "message: value: Input should be a valid dictionary",
    ),
    "context is not an object": (
        with_good_neighbour(messages_change([message(context="wamid.X")])),
        "message wamid.ODD: context:",
    ),
    "button title is a number": (
        with_good_neighbour(
            messages_change(
                [
                    message(
                        type="interactive", interactive={"type": "button_reply", "button_reply": {"title": 7}}
                    )
                ]
            )
        ),
        "message wamid.ODD: text: Input should be a valid string",
    ),
    "messages without a business number": (
        with_good_neighbour({"field": "messages", "value": {"messages": [message()]}}),
        "message wamid.ODD without metadata.phone_number_id",
    ),
    "contact is not an object": (
        with_good_neighbour(messages_change(contacts=["Ana"])),
        "contact: value: Input should be a valid dictionary",
    ),
    "status without id": (
        with_good_neighbour(messages_change(statuses=[{"status": "read", "timestamp": "1"}])),
        "status without id",
    ),
    "status without status": (
        with_good_neighbour(messages_change(statuses=[{"id": "wamid.S", "timestamp": "1"}])),
        "status wamid.S without status",
    ),
    "status timestamp is a word": (
        with_good_neighbour(
            messages_change(statuses=[{"id": "wamid.S", "status": "read", "timestamp": "x"}])
        ),
        "status wamid.S: timestamp:",
    ),
    "messages is not a list": (
        with_good_neighbour(
            {"field": "messages", "value": {"metadata": {"phone_number_id": LOJA}, "messages": "oi"}}
        ),
        "messages change: messages: Input should be a valid list",
    ),
    "change without value": (with_good_neighbour({"field": "messages"}), "change 0 (messages) without value"),
    "change value is not an object": (
        with_good_neighbour({"field": "messages", "value": "oi"}),
        "entry 1 change 0: value: Input should be a valid dictionary",
    ),
    "change is not an object": (with_good_neighbour("oi"), "entry 1 change 0: value:"),
    "entry is not an object": (
        webhook("oi", {"id": "2", "changes": [messages_change([GOOD])]}),
        "entry 0: value: Input should be a valid dictionary",
    ),
    "entry changes are not a list": (
        webhook({"id": "1", "changes": "oi"}, {"id": "2", "changes": [messages_change([GOOD])]}),
        "entry 0: changes: Input should be a valid list",
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_an_unreadable_item_is_rejected_with_a_reason_and_its_neighbours_are_read(case):
    body, reason = REJECTED[case]
    result = normalize(body)
    assert [m.id for m in result.messages] == ["wamid.GOOD"]
    assert len(result.rejected) == 1, result.rejected
    assert reason in result.rejected[0]


def test_reasons_never_carry_what_the_customer_wrote():
    secret = "meu CPF é 123.456.789-00"
    body = with_good_neighbour(messages_change([message(timestamp="ontem", text={"body": secret})]))
    [reason] = normalize(body).rejected
    assert "CPF" not in reason and "ontem" not in reason


@pytest.mark.parametrize(
    ("status", "summary"),
    [
        ("deleted", "unknown status deleted"),
        ("RINGING", "unknown status RINGING"),
        ("warning", "unknown status warning"),
    ],
)
def test_an_unknown_status_is_an_event_not_an_error(status, summary):
    raw = {"id": "wamid.S", "status": status, "timestamp": "1776160000", "recipient_id": "5511987654321"}
    result = normalize(webhook({"id": "1", "changes": [messages_change(statuses=[raw])]}))
    assert (result.statuses, result.rejected) == ([], [])
    assert [(o.field, o.summary, o.phone_number_id, o.value) for o in result.others] == [
        ("statuses", summary, LOJA, raw)
    ]


@pytest.mark.parametrize("status", ["accepted", "failed"])  # a call is never a message's delivery
def test_a_call_status_in_a_messages_change_is_an_event(status):
    raw = {"id": "wacid.X", "type": "call", "status": status, "timestamp": "1776160000"}
    result = normalize(webhook({"id": "1", "changes": [messages_change(statuses=[raw])]}))
    assert result.statuses == [] and [o.summary for o in result.others] == [f"call status {status}"]


def test_an_interactive_without_a_known_reply_is_unknown():
    odd = message(type="interactive", interactive={"type": "button_reply"})
    [read] = normalize(webhook({"id": "1", "changes": [messages_change([odd])]})).messages
    assert (read.kind, read.text, read.content) == (InboundKind.UNKNOWN, None, {"type": "button_reply"})


def test_unknown_fields_anywhere_are_ignored_not_fatal():
    body = copy.deepcopy(ALL["ours/customers/username_only"])
    body["novo_campo"] = 1
    body["entry"][0]["novo_campo"] = [1]
    body["entry"][0]["changes"][0]["novo_campo"] = {}
    body["entry"][0]["changes"][0]["value"]["novo_campo"] = "x"
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["novo_campo"] = None
    body["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = {"forwarded": True, "novo_campo": 2}
    result = normalize(body)
    assert result.rejected == [] and [m.text for m in result.messages] == ["Oi, meu pedido não chegou"]


JUNK = [None, True, 0, "", "x", [], [None], {}, {"id": 1}]
PLACES = {
    "entry": lambda junk: webhook(junk),
    "entry.id": lambda junk: webhook({"id": junk, "changes": []}),
    "change": lambda junk: webhook({"changes": [junk]}),
    "change.field": lambda junk: webhook({"changes": [{"field": junk, "value": {}}]}),
    "value": lambda junk: webhook({"changes": [{"field": "messages", "value": junk}]}),
    "metadata": lambda junk: webhook({"changes": [messages_change([GOOD], metadata=junk)]}),
    "contacts[]": lambda junk: webhook({"changes": [messages_change([GOOD], contacts=[junk])]}),
    "messages[]": lambda junk: webhook({"changes": [messages_change([junk])]}),
    "statuses[]": lambda junk: webhook({"changes": [messages_change(statuses=[junk])]}),
    "errors": lambda junk: webhook({"changes": [messages_change([GOOD], errors=junk)]}),
    "message.type": lambda junk: webhook({"changes": [messages_change([message(type=junk)])]}),
    "message.text": lambda junk: webhook({"changes": [messages_change([message(text=junk)])]}),
    "message.interactive": lambda junk: webhook(
        {"changes": [messages_change([message(type="interactive", interactive=junk)])]}
    ),
    "message.edit": lambda junk: webhook({"changes": [messages_change([message(type="edit", edit=junk)])]}),
    "message.reaction": lambda junk: webhook(
        {"changes": [messages_change([message(type="reaction", reaction=junk)])]}
    ),
    "message.errors": lambda junk: webhook({"changes": [messages_change([message(errors=junk)])]}),
    "message.referral": lambda junk: webhook({"changes": [messages_change([message(referral=junk)])]}),
}


@pytest.mark.parametrize("junk", JUNK, ids=repr)
@pytest.mark.parametrize("place", sorted(PLACES))
def test_junk_anywhere_in_a_whatsapp_envelope_never_raises(place, junk):
    result = normalize(PLACES[place](junk))
    assert isinstance(result, Normalized)
    for read in result.messages:  # whatever was kept is well formed
        assert read.id and read.customer.key != "unknown" and isinstance(read.timestamp, int)
