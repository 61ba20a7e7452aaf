"""Cloud API request bodies for each kind of send, and WhatsApp's limits (Graph errors: test_graph_errors.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from graph.client import build_body, is_business_scoped_id
from handover.message import Button, ListRow, ListSection, OutboundKind, OutboundRequest

PNID = "1122334455667"
URL = "https://graph.facebook.com/v23.0/1122334455667/messages"


def request(**fields) -> OutboundRequest:
    fields.setdefault("to", "5511987654321")
    return OutboundRequest(phone_number_id=PNID, **fields)


def rows(n: int) -> list[ListRow]:
    return [ListRow(id=f"r{i}", title=f"row {i}") for i in range(n)]


# bodies


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


def test_text_without_context_has_no_context_key():
    assert "context" not in build_body(request(kind=OutboundKind.TEXT, text="oi"))


def test_reply_buttons():
    buttons = [Button(id="sim", title="Sim"), Button(id="nao", title="Não")]
    body = build_body(request(kind=OutboundKind.BUTTONS, text="Resolvido?", buttons=buttons))
    assert (body["type"], body["to"]) == ("interactive", "5511987654321")
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


def test_list_rows_keep_descriptions_and_section_titles():
    body = build_body(
        request(
            kind=OutboundKind.LIST,
            text="Escolha",
            list_button="Opções",
            sections=[
                ListSection(
                    title="Ajuda",
                    rows=[
                        ListRow(id="pedido", title="Meu pedido", description="Onde está?"),
                        ListRow(id="boleto", title="Boleto"),
                    ],
                ),
                ListSection(title="Outros", rows=[ListRow(id="humano", title="Atendente")]),
            ],
        )
    )
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "list",
        "body": {"text": "Escolha"},
        "action": {
            "button": "Opções",
            "sections": [
                {
                    "title": "Ajuda",
                    "rows": [
                        {"id": "pedido", "title": "Meu pedido", "description": "Onde está?"},
                        {"id": "boleto", "title": "Boleto"},
                    ],
                },
                {"title": "Outros", "rows": [{"id": "humano", "title": "Atendente"}]},
            ],
        },
    }


def test_a_single_section_needs_no_title_but_several_do():
    one = build_body(
        request(
            kind=OutboundKind.LIST,
            text="Escolha",
            list_button="Opções",
            sections=[ListSection(rows=[ListRow(id="a", title="A")])],
        )
    )
    assert one["interactive"]["action"]["sections"] == [{"rows": [{"id": "a", "title": "A"}]}]
    with pytest.raises(ValidationError, match="needs a title on each"):
        request(
            kind=OutboundKind.LIST,
            text="Escolha",
            list_button="Opções",
            sections=[
                ListSection(rows=[ListRow(id="a", title="A")]),
                ListSection(rows=[ListRow(id="b", title="B")]),
            ],
        )


def test_interactive_body_text_is_at_most_1024_characters():
    with pytest.raises(ValidationError, match="at most 1024"):
        request(kind=OutboundKind.BUTTONS, text="x" * 1025, buttons=[Button(id="a", title="A")])


def test_template_with_body_parameters():
    body = build_body(
        request(
            kind=OutboundKind.TEMPLATE,
            template_name="retomar",
            template_language="pt_BR",
            template_params=["Ana", "#123"],
        )
    )
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "retomar",
        "language": {"code": "pt_BR"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#123"}],
            }
        ],
    }


def test_template_without_parameters_has_no_components():
    body = build_body(request(kind=OutboundKind.TEMPLATE, template_name="ola", template_language="en_US"))
    assert body["template"] == {"name": "ola", "language": {"code": "en_US"}}


def test_read_receipt_is_only_the_message_id():
    receipt = build_body(request(kind=OutboundKind.MARK_READ, message_id="wamid.IN", reply_to="x"))
    assert receipt == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}


# addressing


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ("5511987654321", "to"),
        ("+5511987654321", "to"),
        ("BR.1502576394655843", "recipient"),
        ("US.13491208655302741918", "recipient"),
        ("US.ENT.11815799212886844830", "recipient"),  # a parent BSUID
        ("us.123", "to"),  # not Meta's format: left for Meta to judge
        ("BRA.123", "to"),
        ("BR." + "1" * 129, "to"),
    ],
)
def test_username_customers_are_addressed_by_business_scoped_id(address, field):
    body = build_body(request(kind=OutboundKind.TEXT, text="oi", to=address))
    other = "to" if field == "recipient" else "recipient"
    assert body[field] == address and other not in body
    assert is_business_scoped_id(address) is (field == "recipient")


# limits: a bad request fails where it is made


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(
            {
                "kind": OutboundKind.BUTTONS,
                "text": "x",
                "buttons": [Button(id=str(i), title="b") for i in range(4)],
            },
            id="4 buttons",
        ),
        pytest.param({"kind": OutboundKind.BUTTONS, "text": "x", "buttons": []}, id="no buttons"),
        pytest.param(
            {"kind": OutboundKind.BUTTONS, "buttons": [Button(id="a", title="b")]}, id="buttons without text"
        ),
        pytest.param(
            {
                "kind": OutboundKind.LIST,
                "text": "x",
                "list_button": "b",
                "sections": [ListSection(rows=rows(6))] * 2,
            },
            id="11 rows across sections",
        ),
        pytest.param(
            {"kind": OutboundKind.LIST, "text": "x", "sections": [ListSection(rows=rows(1))]},
            id="no list button",
        ),
        pytest.param({"kind": OutboundKind.LIST, "text": "x", "list_button": "b"}, id="no sections"),
        pytest.param(
            {
                "kind": OutboundKind.LIST,
                "text": "x",
                "list_button": "b" * 21,
                "sections": [ListSection(rows=rows(1))],
            },
            id="list button over 20",
        ),
        pytest.param({"kind": OutboundKind.TEXT, "text": ""}, id="empty text"),
        pytest.param({"kind": OutboundKind.TEXT, "text": "x" * 4097}, id="text over 4096"),
        pytest.param({"kind": OutboundKind.MARK_READ}, id="receipt without message id"),
        pytest.param({"kind": OutboundKind.TEMPLATE, "template_name": "x"}, id="template without language"),
    ],
)
def test_whatsapp_limits_fail_where_the_request_is_made(fields):
    with pytest.raises(ValidationError):
        request(**fields)


def test_limits_at_their_edges_are_accepted():
    build_body(request(kind=OutboundKind.TEXT, text="x" * 4096))
    build_body(
        request(
            kind=OutboundKind.BUTTONS, text="x", buttons=[Button(id=str(i), title="t" * 20) for i in range(3)]
        )
    )
    build_body(
        request(kind=OutboundKind.LIST, text="x", list_button="b" * 20, sections=[ListSection(rows=rows(10))])
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: Button(id="x", title="a title of more than twenty"),
        lambda: Button(id="", title="x"),
        lambda: ListRow(id="x", title="t" * 25),
        lambda: ListRow(id="x", title="t", description="d" * 73),
        lambda: ListSection(title="t" * 25, rows=rows(1)),
        lambda: ListSection(rows=rows(11)),
    ],
)
def test_button_and_row_limits(make):
    with pytest.raises(ValidationError):
        make()


def test_an_agents_file_goes_by_its_media_id_with_caption_and_document_name():
    def media(media_type: str, **fields: str) -> OutboundRequest:
        return OutboundRequest(
            kind=OutboundKind.MEDIA,
            phone_number_id="PN",
            to="5511",
            media_id="up1",
            media_type=media_type,
            **fields,
        )

    document = build_body(media("document", text="Segue o boleto", filename="boleto.pdf"))
    assert (document["type"], document["document"]) == (
        "document",
        {"id": "up1", "caption": "Segue o boleto", "filename": "boleto.pdf"},
    )
    assert build_body(media("image", filename="x.png"))["image"] == {"id": "up1"}  # only documents are named
    with pytest.raises(ValidationError, match="voice message has none"):
        media("audio", text="oi")
    with pytest.raises(ValidationError, match="needs the uploaded media id"):
        OutboundRequest(kind=OutboundKind.MEDIA, phone_number_id="PN", to="5511", media_type="image")
