"""normalize(): every recorded webhook body (pywa's 74 and ours) read into our types (hostile input: see
test_normalize_hostile.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from handover.message import DeliveryStatus, InboundKind
from tests.conftest import PYWA_FIXTURES
from webhooks.normalize import normalize

HERE = Path(__file__).resolve()
OURS_DIR = HERE.parents[1] / "data" / "webhooks"
PYWA_DIR = PYWA_FIXTURES


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
SOUZA = "5511987654321"  # kinds.json: a customer known by number only
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
            if change["field"] == "smb_message_echoes":  # coexistence: read as messages (echo=True)
                messages += [m["id"] for m in value.get("message_echoes", [])]
                continue
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
    # --- ours: every kind a customer sends (kinds.json, issue 29)
    "ours/kinds/text": Expect(K.TEXT, "bom dia, tudo bem?", None, None, None, SOUZA),
    "ours/kinds/reaction": Expect(K.REACTION, "👍", None, None, "wamid.KINDS.1", SOUZA),
    "ours/kinds/reaction_removed": Expect(K.REACTION, None, None, None, "wamid.KINDS.1", SOUZA),
    "ours/kinds/edit": Expect(K.EDIT, "bom dia, tudo bem por aí?", None, None, "wamid.KINDS.1", SOUZA),
    "ours/kinds/revoke": Expect(K.REVOKE, None, None, None, "wamid.KINDS.1", SOUZA),
    "ours/kinds/quoted_reply": Expect(K.TEXT, "esse mesmo", None, None, "wamid.KINDS.1", SOUZA),
    "ours/kinds/contacts": Expect(K.CONTACTS, None, None, None, None, SOUZA),
    "ours/kinds/location": Expect(K.LOCATION, "Loja Paulista", None, None, None, SOUZA),
    "ours/kinds/flow_answer": Expect(K.FLOW_REPLY, "Sent", None, None, "wamid.flow.sent", SOUZA),
    "ours/kinds/sticker": Expect(K.STICKER, None, None, "1234567890", None, SOUZA),
    "ours/kinds/unsupported": Expect(K.UNSUPPORTED, None, None, None, None, SOUZA),
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
    # a number or id change is filed under the new ids (handover/rekey.py); an echo under its customer
    "ours/changes/number_changed": Expect(
        K.SYSTEM,
        "User Ana Souza changed from 5511987654321 to 5521998877665",
        None,
        None,
        None,
        "BR.6610293847561120",
    ),
    "ours/changes/user_id_changed": Expect(
        K.SYSTEM, "User Marcos changed their user ID", None, None, None, "BR.5530172648893301"
    ),
    "ours/changes/echo_text": Expect(
        K.TEXT, "Oi Ana, aqui é a Júlia da loja. Vi seu pedido, já resolvo.", None, None, None, ANA
    ),
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
    # filed under the new number, where the customer writes next (handover/rekey.py)
    "pywa/system/phone_number_change": Expect(
        K.SYSTEM, "User A changed from 972987654321 to 972912345678", None, None, None, "972912345678"
    ),
    # coexistence echoes: the customer is who the person on the phone wrote to (`to`, or `from` when `to`
    # is our own number, as in pywa's revoke and edit echoes)
    "pywa/outgoing_message/text": Expect(K.TEXT, "Test message", None, None, None, "<BSUID>"),
    "pywa/outgoing_message/delete": Expect(K.REVOKE, None, None, None, "wamid.zzzzzz", PYWA_CUSTOMER),
    "pywa/outgoing_message/edit": Expect(
        K.EDIT, "Text was edited", None, None, "wamid.zzzzzz", PYWA_CUSTOMER
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
        "parent_user_id": "US.ENT.11815799212886844830",  # kept, never the key
        "username": None,
        "profile_name": "Test Name",
    }


def test_a_customer_known_only_by_username_has_no_phone_number():
    customer = only_message("ours/customers/username_only").customer
    assert customer.model_dump() == {
        "phone_number_id": LOJA,
        "wa_id": None,
        "user_id": BIA,
        "parent_user_id": "BR.ENT.3310928475561029",
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
