"""Cloud API request bodies for each kind of send, and WhatsApp's limits enforced before sending."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from handover.message import Button, ListRow, ListSection, OutboundKind, OutboundRequest
from workers.errors import (
    AuthError,
    GraphError,
    OutsideWindow,
    RateLimited,
    RecipientUnavailable,
    ServerError,
    error_from_response,
)
from workers.graph import build_body

PNID = "1122334455667"


def request(**fields) -> OutboundRequest:
    return OutboundRequest(phone_number_id=PNID, to="5511987654321", **fields)


def test_text_reply_with_context():
    body = build_body(request(kind=OutboundKind.TEXT, text="Olá, Ana!", reply_to="wamid.IN"))
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511987654321",
        "context": {"message_id": "wamid.IN"},
        "type": "text",
        "text": {"body": "Olá, Ana!", "preview_url": False},
    }


def test_reply_buttons():
    buttons = [Button(id="sim", title="Sim"), Button(id="nao", title="Não")]
    body = build_body(request(kind=OutboundKind.BUTTONS, text="Resolvido?", buttons=buttons))
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": "Resolvido?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "sim", "title": "Sim"}},
                {"type": "reply", "reply": {"id": "nao", "title": "Não"}},
            ]
        },
    }


def test_list():
    rows = [
        ListRow(id="pedido", title="Meu pedido", description="Onde está?"),
        ListRow(id="boleto", title="Boleto"),
    ]
    body = build_body(
        request(
            kind=OutboundKind.LIST,
            text="Escolha",
            list_button="Opções",
            sections=[ListSection(title="Ajuda", rows=rows)],
        )
    )
    assert body["interactive"]["action"] == {
        "button": "Opções",
        "sections": [
            {
                "title": "Ajuda",
                "rows": [
                    {"id": "pedido", "title": "Meu pedido", "description": "Onde está?"},
                    {"id": "boleto", "title": "Boleto"},
                ],
            }
        ],
    }


def test_template_and_read_receipt():
    body = build_body(
        request(
            kind=OutboundKind.TEMPLATE,
            template_name="retomar",
            template_language="pt_BR",
            template_params=["Ana"],
        )
    )
    assert body["template"] == {
        "name": "retomar",
        "language": {"code": "pt_BR"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
    }
    receipt = build_body(request(kind=OutboundKind.MARK_READ, message_id="wamid.IN"))
    assert receipt == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}


def test_username_customers_are_addressed_by_business_scoped_id():
    body = build_body(
        OutboundRequest(kind=OutboundKind.TEXT, phone_number_id=PNID, to="BR.1502576394655843", text="oi")
    )
    assert body["recipient"] == "BR.1502576394655843" and "to" not in body


@pytest.mark.parametrize(
    "fields",
    [
        {
            "kind": OutboundKind.BUTTONS,
            "text": "x",
            "buttons": [Button(id=str(i), title="b") for i in range(4)],
        },
        {"kind": OutboundKind.BUTTONS, "text": "x", "buttons": []},
        {
            "kind": OutboundKind.LIST,
            "text": "x",
            "list_button": "b",
            "sections": [ListSection(rows=[ListRow(id=str(i), title="r") for i in range(6)])] * 2,
        },
        {"kind": OutboundKind.TEXT, "text": ""},
        {"kind": OutboundKind.MARK_READ},
        {"kind": OutboundKind.TEMPLATE, "template_name": "x"},
    ],
)
def test_whatsapp_limits_fail_where_the_request_is_made(fields):
    with pytest.raises(ValidationError):
        request(**fields)


def test_button_title_limit():
    with pytest.raises(ValidationError):
        Button(id="x", title="a title of more than twenty")


@pytest.mark.parametrize(
    ("status", "code", "cls", "retryable"),
    [
        (429, 130429, RateLimited, True),
        (400, 131056, RateLimited, True),
        (500, 131000, ServerError, True),
        (503, None, ServerError, True),
        (429, None, RateLimited, True),
        (400, 131047, OutsideWindow, False),
        (400, 131026, RecipientUnavailable, False),
        (401, 190, AuthError, False),
        (400, 999999, GraphError, False),
    ],
)
def test_errors_are_typed_by_meta_code_then_http_status(status, code, cls, retryable):
    body = {"error": {"message": "m", "code": code}} if code is not None else "<html>bad gateway</html>"
    error = error_from_response("POST", "/1/messages", status, body)
    assert type(error) is cls and error.retryable is retryable
    outcome = error.to_outcome()
    assert (outcome.ok, outcome.retryable, outcome.error_code) == (False, retryable, code or status)
