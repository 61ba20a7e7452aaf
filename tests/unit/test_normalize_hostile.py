"""normalize() under hostile input: anything that is not a WhatsApp body is named; a bad item costs only
itself, never its neighbours or the whole POST."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from handover.message import InboundKind
from tests.unit.test_normalize import ALL, LOJA, WABA
from webhooks.errors import NotWhatsAppPayload
from webhooks.normalize import Normalized, normalize

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


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


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
    # kept as received, these would not serialise again (pydantic stops at 255 levels): the POST got a 400
    "message nested too deep": (
        with_good_neighbour(messages_change([message(novo_campo=nested(300))])),
        "message wamid.ODD nested deeper than 64 levels",
    ),
    "event nested too deep": (
        with_good_neighbour({"field": "account_update", "value": {"event": nested(300)}}),
        "entry 1 change 0 (account_update) nested deeper than 64 levels",
    ),
    "change errors nested too deep": (
        with_good_neighbour(messages_change(errors=[nested(300)])),
        "messages change errors nested deeper than 64 levels",
    ),
    # identifiers past Meta's sizes (webhooks/bounds.py): cut short they could name someone else
    "from of 100k digits": (
        with_good_neighbour(messages_change([message(**{"from": "5" * 100_000})])),
        "message wamid.ODD from longer than 32 characters",
    ),
    "contact wa_id of 24k digits": (
        with_good_neighbour(
            messages_change([message(**{"from": ...})], contacts=[{"wa_id": "5" * 24_000, "profile": {}}])
        ),
        "message wamid.ODD from longer than 32 characters",
    ),
    "user id too long": (
        with_good_neighbour(messages_change([message(**{"from": ..., "from_user_id": "BR." + "x" * 200})])),
        "message wamid.ODD from_user_id longer than 128 characters",
    ),
    "message id too long": (
        with_good_neighbour(messages_change([message(id="wamid." + "x" * 300)])),
        "id longer than 256 characters",
    ),
    "media id too long": (
        with_good_neighbour(messages_change([message(type="image", image={"id": "9" * 300})])),
        "message wamid.ODD media_id longer than 256 characters",
    ),
    "type too long": (
        with_good_neighbour(messages_change([message(type="t" * 300)])),
        "message wamid.ODD type longer than 256 characters",
    ),
    "status recipient too long": (
        with_good_neighbour(
            messages_change(
                statuses=[{"id": "wamid.S", "status": "read", "timestamp": "1", "recipient_id": "5" * 5000}]
            )
        ),
        "status wamid.S recipient_id longer than 128 characters",
    ),
    "id nested too deep": (  # named without its id: printing it would run out of stack
        with_good_neighbour(messages_change([message(id=nested(990))])),
        "message nested deeper than 64 levels",
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


def read_one(raw: dict[str, Any], contacts: Any = ()) -> Any:
    result = normalize(with_good_neighbour(messages_change([raw], contacts=list(contacts))))
    assert result.rejected == [] and [m.id for m in result.messages][-1] == "wamid.GOOD"
    return result.messages[0]


def test_a_profile_name_is_trimmed_and_cut_to_256_characters():
    spaces = {"wa_id": GOOD["from"], "profile": {"name": " " * 100_000, "username": "@" + "u" * 10_000}}
    read = read_one(message(), [spaces])
    assert (read.customer.profile_name, read.customer.username) == (None, "@" + "u" * 255)
    long = {"wa_id": GOOD["from"], "profile": {"name": "  Ana " + "a" * 100_000}}
    assert read_one(message(), [long]).customer.profile_name == "Ana " + "a" * 252


@pytest.mark.parametrize(
    ("raw", "text", "kept"),
    [
        (message(text={"body": "x" * 100_000}), 4096, ("body", 16_384)),
        (message(type="image", image={"id": "1", "caption": "c" * 5000}), 1024, ("caption", 1024)),
        (message(type="document", document={"id": "1", "filename": "f" * 5000}), None, ("filename", 240)),
        (message(type="location", location={"address": "r" * 50_000}), 4096, ("address", 16_384)),
    ],
    ids=["text", "caption", "filename", "location"],
)
def test_what_a_customer_wrote_is_cut_to_meta_s_sizes_and_the_message_kept(raw, text, kept):
    read = read_one(raw)
    assert (len(read.text) if read.text else None) == text
    field, most = kept
    assert len(read.content[field]) == most


@pytest.mark.parametrize(
    ("declared", "kept"),
    [
        ("image/jpeg", "image/jpeg"),
        ("audio/ogg; codecs=opus", "audio/ogg; codecs=opus"),
        ("image/png\r\nSet-Cookie: x=1", None),
        ("image/png\n", None),
        ("text/html" + " " * 200, None),
        ("nothing", None),
        ("", None),
    ],
)
def test_a_media_type_that_is_not_type_slash_subtype_is_dropped(declared, kept):
    declared = declared.replace("\\r", "\r").replace("\\n", "\n")
    read = read_one(message(type="image", image={"id": "1", "mime_type": declared}))
    assert read.mime_type == kept and read.content["mime_type"] == kept
