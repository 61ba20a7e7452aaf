"""What each WhatsApp shape becomes: a table of expectations over recorded bodies, and hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handover.message import DeliveryStatus, InboundKind
from tests.conftest import PYWA_FIXTURES
from webhooks.errors import NotWhatsAppPayload
from webhooks.normalize import normalize

OURS = json.loads((Path(__file__).resolve().parents[1] / "data" / "webhooks" / "shapes.json").read_text())
PYWA = {
    f"{p.stem}/{name}": body
    for p in sorted(PYWA_FIXTURES.glob("*.json"))
    for name, body in json.loads(p.read_text()).items()
}


def body(name: str) -> dict:
    return OURS[name] if name in OURS else PYWA[name]


# scenario -> (kind, text, reply_id, media_id, context_id, customer key)
MESSAGES = {
    "request_welcome": (InboundKind.REQUEST_WELCOME, None, None, None, None, "BR.1502576394655843"),
    "flow_reply": (InboundKind.FLOW_REPLY, "Sent", None, None, "wamid.HBgNOUTFLOW", "BR.1502576394655843"),
    "list_reply": (
        InboundKind.LIST_REPLY,
        "2ª via do boleto",
        "segunda_via_boleto",
        None,
        "wamid.HBgNOUTLIST",
        "BR.1502576394655843",
    ),
    "button_reply": (
        InboundKind.BUTTON_REPLY,
        "Falar com atendente",
        "falar_com_atendente",
        None,
        "wamid.HBgNOUTBTN",
        "BR.1502576394655843",
    ),
    "username_only": (
        InboundKind.TEXT,
        "Oi, meu pedido não chegou",
        None,
        None,
        None,
        "BR.77777777777777777",
    ),
    "future_type": (InboundKind.UNKNOWN, None, None, None, None, "BR.1502576394655843"),
    "message/text": (InboundKind.TEXT, "Body Text", None, None, None, "US.13491208655302741918"),
    "message/image": (InboundKind.IMAGE, None, None, "65463453", None, "US.13491208655302741918"),
    "message/voice": (InboundKind.AUDIO, None, None, "1234567890987654321", None, "US.13491208655302741918"),
    "message/reaction": (
        InboundKind.REACTION,
        "\U0001f62e",
        None,
        None,
        "wamid.yzxyzx=",
        "US.13491208655302741918",
    ),
    "message/unreaction_empty": (
        InboundKind.REACTION,
        None,
        None,
        None,
        "wamid.yzxyzx=",
        "US.13491208655302741918",
    ),
    "message/reply": (
        InboundKind.TEXT,
        "replied text",
        None,
        None,
        "wamid.xyzxyz==",
        "US.13491208655302741918",
    ),
    "message/unsupported": (InboundKind.UNSUPPORTED, None, None, None, None, "US.13491208655302741918"),
    "message/chosen_location": (
        InboundKind.LOCATION,
        "Facebook HQ",
        None,
        None,
        None,
        "US.13491208655302741918",
    ),
    "callback_button/quick_reply": (
        InboundKind.TEMPLATE_BUTTON,
        "title",
        "callback_data",
        None,
        "wamid.xyzxyz==",
        "US.13491208655302741918",
    ),
    "callback_selection/callback": (
        InboundKind.LIST_REPLY,
        "title",
        "callback_data",
        None,
        "wamid.xyzxyz",
        "US.13491208655302741918",
    ),
    "deleted_message/revoke": (InboundKind.REVOKE, None, None, None, "<ORIGINAL_WHATSAPP_MESSAGE_ID>", None),
    "edited_message/image": (
        InboundKind.EDIT,
        "Updated image caption",
        None,
        None,
        "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
        None,
    ),
    "system/phone_number_change": (
        InboundKind.SYSTEM,
        "User A changed from 972987654321 to 972912345678",
        None,
        None,
        None,
        "972912345678",  # filed under the new number (handover/rekey.py)
    ),
    "call_permission_update/accept": (InboundKind.UNKNOWN, None, None, None, "wamid.y==", None),
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_message_shape(name):
    kind, text, reply_id, media_id, context_id, customer = MESSAGES[name]
    result = normalize(body(name))
    assert result.rejected == []
    [message] = result.messages
    assert (message.kind, message.text, message.reply_id, message.media_id, message.context_id) == (
        kind,
        text,
        reply_id,
        media_id,
        context_id,
    )
    if customer is not None:
        assert message.customer.key == customer


def test_username_customer_has_no_phone_number_and_keeps_their_username():
    [message] = normalize(body("username_only")).messages
    assert message.customer.wa_id is None
    assert (message.customer.username, message.customer.profile_name) == ("@bia.compras", "Bia")
    assert message.customer.address == "BR.77777777777777777"


def test_unknown_types_keep_their_content():
    [message] = normalize(body("future_type")).messages
    assert message.wa_type == "hologram" and message.content == {"shape": "cube", "id": "777"}


def test_batch_is_read_whole():
    result = normalize(body("batch"))
    assert [m.id for m in result.messages] == ["wamid.HBgNB1", "wamid.HBgNB2", "wamid.HBgNB3"]
    assert [(s.message_id, s.status) for s in result.statuses] == [
        ("wamid.HBgNOUT1", DeliveryStatus.DELIVERED),
        ("wamid.HBgNOUT1", DeliveryStatus.READ),
    ]
    assert [(o.field, o.summary) for o in result.others] == [
        ("message_template_status_update", "template pedido_enviado APPROVED")
    ]
    assert result.messages[2].customer.key == "5521999990000" and result.messages[2].text == "nota fiscal"


def test_change_errors_are_kept_beside_the_messages():
    result = normalize(body("value_errors"))
    assert [m.text for m in result.messages] == ["alô?"]
    assert [(o.field, o.summary) for o in result.others] == [("errors", "131000 Something went wrong")]


@pytest.mark.parametrize(
    ("name", "status", "error_code"),
    [
        ("failed_outside_window", DeliveryStatus.FAILED, 131047),
        ("message_status/failed", DeliveryStatus.FAILED, 130472),
        ("message_status/played", DeliveryStatus.PLAYED, None),
        ("message_status/group", DeliveryStatus.READ, None),
    ],
)
def test_status_shape(name, status, error_code):
    [update] = normalize(body(name)).statuses
    assert update.status == status
    assert (update.errors[0]["code"] if update.errors else None) == error_code


@pytest.mark.parametrize(
    "name",
    [
        "template_status_update/approved",
        "account_update/account_deleted",
        "call_connect/user_initiated",
        "user_marketing_preferences/resume",
        "call_status/call_status",
    ],
)
def test_changes_we_do_not_act_on_are_kept_as_events(name):
    result = normalize(body(name))
    assert result.messages == [] and result.rejected == [] and len(result.others) >= 1


@pytest.mark.parametrize(
    "hostile",
    [
        None,
        [],
        "text",
        42,
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": "nope"},
    ],
)
def test_not_a_whatsapp_body(hostile):
    with pytest.raises(NotWhatsAppPayload):
        normalize(hostile)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"from": "55", "timestamp": "1", "type": "text", "text": {"body": "sem id"}}, "message without id"),
        ({"from": "55", "id": "wamid.T", "timestamp": "ontem", "type": "text"}, "timestamp: Input should be"),
        ({"id": "wamid.S", "timestamp": "1", "type": "text"}, "without a sender"),
        ("not an object", "Input should be a valid dictionary"),
    ],
)
def test_unreadable_items_are_rejected_one_by_one(message, reason):
    good = {"from": "5511", "id": "wamid.GOOD", "timestamp": "1", "type": "text", "text": {"body": "ok"}}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {"metadata": {"phone_number_id": "1"}, "messages": [message, good]},
                    }
                ],
            }
        ],
    }
    result = normalize(payload)
    assert [m.id for m in result.messages] == ["wamid.GOOD"]
    assert len(result.rejected) == 1 and reason in result.rejected[0]


def test_strange_entries_and_changes_are_rejected_alone():
    ok = {"from": "5511", "id": "wamid.OK", "timestamp": "1", "type": "text", "text": {"body": "ok"}}
    result = normalize(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"changes": [{"field": "messages"}]},
                {"changes": "nope"},
                {
                    "changes": [
                        {
                            "field": "messages",
                            "value": {"metadata": {"phone_number_id": "1"}, "messages": [ok]},
                        }
                    ]
                },
            ],
        }
    )
    assert [m.id for m in result.messages] == ["wamid.OK"]
    assert result.rejected == [
        "entry 0 change 0 (messages) without value",
        "entry 1: changes: Input should be a valid list",
    ]
