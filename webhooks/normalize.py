"""Meta's webhook bodies → our channel-agnostic items: messages, statuses, and other events we keep."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import ValidationError

from handover.message import (
    CustomerRef,
    DeliveryStatus,
    InboundKind,
    InboundMessage,
    OtherEvent,
    StatusUpdate,
)
from webhooks import bounds, customers, payload
from webhooks.errors import NotWhatsAppPayload

OBJECT = "whatsapp_business_account"
ECHOES = "smb_message_echoes"  # coexistence: what a person sent from the WhatsApp Business app on our number

_KINDS = {
    "text": InboundKind.TEXT,
    "image": InboundKind.IMAGE,
    "audio": InboundKind.AUDIO,  # voice notes too: `audio.voice` is true
    "video": InboundKind.VIDEO,
    "document": InboundKind.DOCUMENT,
    "sticker": InboundKind.STICKER,
    "location": InboundKind.LOCATION,
    "contacts": InboundKind.CONTACTS,
    "button": InboundKind.TEMPLATE_BUTTON,
    "reaction": InboundKind.REACTION,
    "order": InboundKind.ORDER,
    "system": InboundKind.SYSTEM,
    "revoke": InboundKind.REVOKE,
    "edit": InboundKind.EDIT,
    "request_welcome": InboundKind.REQUEST_WELCOME,
    "unsupported": InboundKind.UNSUPPORTED,
}
_INTERACTIVE_KINDS = {
    "button_reply": InboundKind.BUTTON_REPLY,
    "list_reply": InboundKind.LIST_REPLY,
    "nfm_reply": InboundKind.FLOW_REPLY,
}
_MEDIA = ("image", "audio", "video", "document", "sticker")
_TEMPLATE_CHANGES = (("event", ""), ("new_category", "category "), ("new_quality_score", "quality "))
# Per item, any of these means "this item is not what Meta documents"; the batch goes on without it.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError)  # ValidationError is a ValueError
# Meta's bodies nest about 8 levels. What we keep as received (a message's content, an event's value) must
# serialise again, which pydantic stops doing past 255 levels: an item nested deeper is rejected alone.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Normalized:
    """What one webhook body holds, in our terms; `rejected` says what could not be read, and why."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    others: list[OtherEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Rejected:
    reason: str


_Item = InboundMessage | StatusUpdate | OtherEvent | _Rejected


def normalize(body: Any) -> Normalized:
    """Read every entry, change, message and status of a webhook body.

    Args:
        body: the decoded JSON of Meta's POST.

    Returns:
        The messages, delivery statuses and other events it holds, and a reason for each item that could
        not be read (those are skipped, never fatal).

    Raises:
        NotWhatsAppPayload: the body is not `{"object": "whatsapp_business_account", "entry": [...]}`.
    """
    if not isinstance(body, dict) or body.get("object") != OBJECT or not isinstance(body.get("entry"), list):
        raise NotWhatsAppPayload(f"not a {OBJECT} webhook with a list of entries")
    envelope = payload.Envelope.model_validate(body)
    items = [item for position, raw in enumerate(envelope.entry) for item in _read_entry(position, raw)]
    return Normalized(
        messages=[i for i in items if isinstance(i, InboundMessage)],
        statuses=[i for i in items if isinstance(i, StatusUpdate)],
        others=[i for i in items if isinstance(i, OtherEvent)],
        rejected=[i.reason for i in items if isinstance(i, _Rejected)],
    )


def _read_entry(position: int, raw: Any) -> Iterator[_Item]:
    try:
        entry = payload.Entry.model_validate(raw)
    except ValidationError as exc:
        yield _Rejected(_reason(f"entry {position}", exc))
        return
    for index, raw_change in enumerate(entry.changes):
        try:
            change = payload.Change.model_validate(raw_change)
        except ValidationError as exc:
            yield _Rejected(_reason(f"entry {entry.id or position} change {index}", exc))
            continue
        if change.value is None:
            yield _Rejected(
                f"entry {entry.id or position} change {index} ({change.field or '?'}) without value"
            )
        elif change.field in ("messages", ECHOES):
            yield from _read_messages_change(change.value)
        else:
            where = f"entry {entry.id or position} change {index} ({change.field or '?'})"
            yield _too_deep(where, change.value) or _other(
                change.field or "unknown", change.value, _summary(change.field, change.value)
            )


def _read_messages_change(raw_value: dict[str, Any]) -> Iterator[_Item]:
    try:
        value = payload.ChangeValue.model_validate(raw_value)
    except ValidationError as exc:
        yield _Rejected(_reason("messages change", exc))
        return
    number = value.metadata.phone_number_id
    if value.errors:  # errors about the change itself (e.g. an unsupported webhook), beside its messages
        yield _too_deep("messages change errors", value.errors) or OtherEvent(
            field="errors",
            phone_number_id=number,
            summary=_errors(value.errors),
            value={"errors": value.errors},
        )
    if not (value.messages or value.statuses or value.errors or value.message_echoes):
        yield _too_deep("messages change", raw_value) or _other(
            "messages", raw_value, "no messages or statuses"
        )
    contacts: list[payload.Contact] = []
    for raw in value.contacts:
        try:
            contacts.append(payload.Contact.model_validate(raw))
        except ValidationError as exc:
            yield _Rejected(_reason("contact", exc))
    index = customers.Contacts(contacts)
    for raw in value.messages:
        yield _guarded("message", raw, partial(_read_message, number=number, contacts=index))
    for raw in value.statuses:
        yield _guarded("status", raw, partial(_read_status, number=number))
    business = value.metadata.display_phone_number
    for raw in value.message_echoes:
        yield _guarded("echo", raw, partial(_read_echo, number=number, business=business, contacts=index))


def _guarded(what: str, raw: Any, read: Callable[[Any], _Item]) -> _Item:
    try:
        _check_depth(raw)
        return read(raw)
    except _UNREADABLE as exc:
        ident = raw.get("id") if isinstance(raw, dict) else None
        named = isinstance(ident, str) and 0 < len(ident) <= 100  # a longer one would hide the reason
        return _Rejected(_reason(f"{what} {ident}" if named else what, exc))


def _too_deep(what: str, value: Any) -> _Rejected | None:
    """A rejection when `value`, to be kept as received, nests deeper than MAX_DEPTH."""
    try:
        _check_depth(value)
    except ValueError as exc:
        return _Rejected(_reason(what, exc))
    return None


def _check_depth(value: Any) -> None:
    """ValueError if lists and objects nest deeper than MAX_DEPTH in `value` (read level by level: a
    recursive walk would itself run out of stack)."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    raise ValueError(f"nested deeper than {MAX_DEPTH} levels")


def _read_message(raw: Any, number: str | None, contacts: customers.Contacts) -> InboundMessage:
    message = payload.Message.model_validate(raw)
    customer = customers.customer(
        message, number, contacts, message.sender, message.from_user_id, message.from_parent_user_id
    )
    changed = customers.identity_change(message, customer) if message.type == "system" else None
    if changed is not None:  # routed, and filed, as who they are now (handover/rekey.py)
        return _inbound(message, changed, changed_from=customer)
    return _inbound(message, customer)


def _read_echo(
    raw: Any, number: str | None, business: str | None, contacts: customers.Contacts
) -> InboundMessage:
    """A message a person sent from the WhatsApp Business app: its customer is `to`, unless `to` is our own
    number (some recorded echoes of revokes and edits have it the other way round), then `from`."""
    message = payload.Message.model_validate(raw)
    ours = business is not None and customers.digits(message.recipient) == customers.digits(business)
    if ours:
        ids = (message.sender, message.from_user_id, message.from_parent_user_id)
    else:
        ids = (message.recipient, message.to_user_id, message.to_parent_user_id)
    return _inbound(message, customers.customer(message, number, contacts, *ids), echo=True)


def _inbound(
    message: payload.Message,
    customer: CustomerRef,
    echo: bool = False,
    changed_from: CustomerRef | None = None,
) -> InboundMessage:
    if changed_from is not None:
        changed_from = customers.as_before(message, changed_from)
    content = bounds.media_content(message.type, bounds.content(_content(message)))
    readable: dict[str, Any] = {
        "kind": _KINDS.get(message.type, InboundKind.UNKNOWN),
        "context_id": message.context.id if message.context else None,
    }
    return InboundMessage(
        id=message.id,
        customer=customer,
        timestamp=message.timestamp,
        wa_type=bounds.identifier("type", message.type, bounds.ID_MAX),
        referral=bounds.content(message.referral),
        errors=bounds.content(message.errors),
        content=content,
        echo=echo,
        changed_from=changed_from,
        **bounds.readable(message.type, readable | _readable(message.type, content)),
    )


def _content(message: payload.Message) -> dict[str, Any]:
    """The type-specific object as received; a non-object (the `contacts` list) is kept under its name."""
    found = message.type_object
    if found is None:
        return {}
    return found if isinstance(found, dict) else {message.type: found}


def _readable(wa_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """What a bot or an agent reads of each type: its text, tapped id, media, or the message it points at."""
    if wa_type in ("text", "system"):
        return {"text": content.get("body")}
    if wa_type in _MEDIA:
        return {
            "text": content.get("caption"),
            "media_id": content.get("id"),
            "mime_type": content.get("mime_type"),
        }
    if wa_type == "interactive":
        return _interactive(content)
    if wa_type == "button":  # a template's quick-reply button
        return {"text": content.get("text"), "reply_id": content.get("payload")}
    if wa_type == "reaction":  # an empty or missing emoji means the customer removed their reaction
        return {"text": content.get("emoji") or None, "context_id": content.get("message_id")}
    if wa_type == "revoke":
        return {"context_id": content.get("original_message_id")}
    if wa_type == "edit":
        edited = _object(content.get("message"))
        new = _object(edited.get(str(edited.get("type"))))
        return {
            "context_id": content.get("original_message_id"),
            "text": new.get("body") or new.get("caption"),
        }
    if wa_type == "location":
        return {"text": content.get("name") or content.get("address")}
    if wa_type == "order":
        return {"text": content.get("text") or None}
    return {}


def _interactive(content: dict[str, Any]) -> dict[str, Any]:
    sub_type = content.get("type")
    reply = content.get(sub_type) if isinstance(sub_type, str) else None
    if sub_type not in _INTERACTIVE_KINDS or not isinstance(reply, dict):
        return {"kind": InboundKind.UNKNOWN}  # e.g. call_permission_reply, or no sub-object at all
    return {
        "kind": _INTERACTIVE_KINDS[sub_type],
        "reply_id": reply.get("id"),
        "text": reply.get("title") or reply.get("body"),  # a flow reply has a body ("Sent"), no title
    }


def _read_status(raw: Any, number: str | None) -> StatusUpdate | OtherEvent:
    status = payload.Status.model_validate(raw)
    if number is None:
        raise ValueError("without metadata.phone_number_id")
    known = {s.value for s in DeliveryStatus}
    if status.type == "call" or status.status not in known:
        kind = "call status" if status.type == "call" else "unknown status"
        return _other("statuses", raw, f"{kind} {status.status}", number)
    bounds.identifier("id", status.id, bounds.ID_MAX)
    bounds.identifier("recipient_id", status.recipient_id or status.recipient_user_id, bounds.USER_ID_MAX)
    return StatusUpdate(
        message_id=status.id,
        status=DeliveryStatus(status.status),
        timestamp=status.timestamp,
        phone_number_id=number,
        recipient_id=status.recipient_id or status.recipient_user_id,
        errors=status.errors,
    )


def _other(field_name: str, value: dict[str, Any], summary: str, number: str | None = None) -> OtherEvent:
    if number is None:
        metadata = value.get("metadata")
        found = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
        number = found if isinstance(found, str) else None
    return OtherEvent(field=field_name, phone_number_id=number, summary=summary[:120], value=value)


def _summary(field_name: str, value: dict[str, Any]) -> str:
    """A few words for logs: the template and what happened to it, the event, or what the calls did."""
    template = value.get("message_template_name")
    if template is not None:
        changed = next(
            (f"{label}{value[key]}" for key, label in _TEMPLATE_CHANGES if key in value), "updated"
        )
        return f"template {template} {changed}"
    if "event" in value:
        return str(value["event"])
    for key in ("calls", "statuses", "message_echoes", "user_preferences"):
        items = value.get(key)
        if isinstance(items, list) and items:
            words = [
                str(_first(i, ("event", "status", "type", "value"))) for i in items if isinstance(i, dict)
            ]
            return f"{key} {', '.join(words)}"
    return field_name or "unknown"


def _first(item: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((item[k] for k in keys if k in item), "?")


def _errors(errors: list[Any]) -> str:
    described = [f"{e.get('code')} {e.get('title') or ''}".strip() for e in errors if isinstance(e, dict)]
    return ", ".join(described) or "errors"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _reason(what: str, exc: Exception) -> str:
    """One line saying what was skipped and why, e.g. "message without id"; never the message's text."""
    if type(exc) in (
        ValueError,
        bounds.TooLong,
    ):  # ours, worded to follow the item: "message wamid.X without a sender"
        return f"{what} {exc}"[:200]
    if not isinstance(exc, ValidationError):
        return f"{what}: {type(exc).__name__}: {exc}"[:200]
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "value"
    if error["type"] == "missing":
        return f"{what} without {where}"[:200]
    return f"{what}: {where}: {error['msg']}"[:200]
