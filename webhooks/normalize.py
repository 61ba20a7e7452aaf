"""Meta's webhook bodies → our channel-agnostic items: messages, statuses, and other events we keep."""

from __future__ import annotations

from dataclasses import dataclass, field
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
from webhooks.errors import NotWhatsAppPayload
from webhooks.payload import Change, ChangeValue, Contact, Envelope

OBJECT = "whatsapp_business_account"

_PLAIN_KINDS = {
    "text": InboundKind.TEXT,
    "image": InboundKind.IMAGE,
    "audio": InboundKind.AUDIO,
    "video": InboundKind.VIDEO,
    "document": InboundKind.DOCUMENT,
    "sticker": InboundKind.STICKER,
    "location": InboundKind.LOCATION,
    "contacts": InboundKind.CONTACTS,
    "reaction": InboundKind.REACTION,
    "order": InboundKind.ORDER,
    "system": InboundKind.SYSTEM,
    "revoke": InboundKind.REVOKE,
    "edit": InboundKind.EDIT,
    "request_welcome": InboundKind.REQUEST_WELCOME,
    "unsupported": InboundKind.UNSUPPORTED,
    "button": InboundKind.TEMPLATE_BUTTON,
}
_INTERACTIVE_KINDS = {
    "button_reply": InboundKind.BUTTON_REPLY,
    "list_reply": InboundKind.LIST_REPLY,
    "nfm_reply": InboundKind.FLOW_REPLY,
}
_MEDIA = ("image", "audio", "video", "document", "sticker")


@dataclass(frozen=True)
class Normalized:
    """What one webhook body holds, in our terms; `rejected` says what could not be read, and why."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    others: list[OtherEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def normalize(body: Any) -> Normalized:
    """Read every entry and change of a webhook body; raise NotWhatsAppPayload if it is not one at all."""
    if not isinstance(body, dict) or body.get("object") != OBJECT:
        raise NotWhatsAppPayload(f"not a {OBJECT} webhook")
    try:
        envelope = Envelope.model_validate(body)
    except ValidationError as exc:
        raise NotWhatsAppPayload(f"malformed envelope: {exc.errors()[0]['loc']}") from exc
    result = Normalized()
    for entry in envelope.entry:
        for change in entry.changes:
            _read_change(change, result)
    return result


def _read_change(change: Change, out: Normalized) -> None:
    try:
        value = ChangeValue.model_validate(change.value)
    except ValidationError as exc:
        out.rejected.append(f"{change.field or 'change'}: unreadable value at {exc.errors()[0]['loc']}")
        return
    number = value.metadata.phone_number_id
    if change.field != "messages" or not (value.messages or value.statuses):
        out.others.append(
            OtherEvent(
                field=change.field or "unknown",
                phone_number_id=number,
                summary=_summary(change.field, change.value),
                value=change.value,
            )
        )
        return
    if value.errors:  # errors about the change itself, beside its messages
        out.others.append(
            OtherEvent(
                field="errors",
                phone_number_id=number,
                summary=_errors(value.errors),
                value={"errors": value.errors},
            )
        )
    if number is None:
        out.rejected.append("messages without metadata.phone_number_id")
        return
    for raw in value.messages:
        _add(out, lambda raw=raw: out.messages.append(_message(raw, number, value.contacts)), raw, "message")
    for raw in value.statuses:
        _add(out, lambda raw=raw: _status(raw, number, out), raw, "status")


def _add(out: Normalized, read: Any, raw: Any, what: str) -> None:
    try:
        read()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        ident = raw.get("id", "?") if isinstance(raw, dict) else "?"
        out.rejected.append(f"{what} {ident}: {type(exc).__name__}: {exc}"[:300])


def _message(raw: dict[str, Any], number: str, contacts: list[Contact]) -> InboundMessage:
    if not raw.get("id"):
        raise ValueError("message without id")
    wa_type = str(raw.get("type") or "unknown")
    sender, user_id = raw.get("from"), raw.get("from_user_id")
    contact = _contact_for(contacts, sender, user_id)
    customer = CustomerRef(
        phone_number_id=number,
        wa_id=sender or (contact.wa_id if contact else None),
        user_id=user_id or (contact.user_id if contact else None),
        username=contact.profile.username if contact else None,
        profile_name=contact.profile.name if contact else None,
    )
    if customer.wa_id is None and customer.user_id is None:
        raise ValueError("message without a sender (no from, from_user_id or contact)")
    found = raw.get(wa_type)
    content: dict[str, Any] = found if isinstance(found, dict) else {}
    if wa_type == "contacts":
        content = {"contacts": raw.get("contacts", [])}
    fields: dict[str, Any] = {
        "kind": _PLAIN_KINDS.get(wa_type, InboundKind.UNKNOWN),
        "context_id": (raw.get("context") or {}).get("id"),
    }
    fields |= _type_specific(wa_type, content)
    return InboundMessage(
        id=str(raw["id"]),
        customer=customer,
        timestamp=int(raw.get("timestamp") or 0),
        wa_type=wa_type,
        referral=raw.get("referral"),
        errors=raw.get("errors") or [],
        content=content,
        **fields,
    )


def _type_specific(wa_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """The readable text, tapped id, media reference or referenced message of each type."""
    if wa_type == "text":
        return {"text": content.get("body")}
    if wa_type in _MEDIA:
        return {
            "text": content.get("caption"),
            "media_id": content.get("id"),
            "mime_type": content.get("mime_type"),
        }
    if wa_type == "interactive":
        sub_type = content.get("type", "")
        reply = content.get(sub_type) or {}
        kind = _INTERACTIVE_KINDS.get(sub_type, InboundKind.UNKNOWN)
        return {"kind": kind, "reply_id": reply.get("id"), "text": reply.get("title") or reply.get("body")}
    if wa_type == "button":
        return {"text": content.get("text"), "reply_id": content.get("payload")}
    if wa_type == "reaction":  # an empty or missing emoji means the customer removed their reaction
        return {"text": content.get("emoji") or None, "context_id": content.get("message_id")}
    if wa_type in ("revoke", "edit"):
        edited = content.get("message") or {}
        inner = edited.get(edited.get("type", ""), {}) if isinstance(edited, dict) else {}
        return {
            "context_id": content.get("original_message_id"),
            "text": inner.get("body") or inner.get("caption") if isinstance(inner, dict) else None,
        }
    if wa_type == "system":
        return {"text": content.get("body")}
    if wa_type == "location":
        return {"text": content.get("name") or content.get("address")}
    if wa_type == "order":
        return {"text": content.get("text") or None}
    return {}


def _status(raw: dict[str, Any], number: str, out: Normalized) -> None:
    if not raw.get("id"):
        raise ValueError("status without id")
    try:
        status: DeliveryStatus | None = DeliveryStatus(str(raw.get("status")))
    except ValueError:
        status = None
    if status is None or status is DeliveryStatus.PENDING or raw.get("type") == "call":
        out.others.append(
            OtherEvent(
                field="statuses", phone_number_id=number, summary=f"status {raw.get('status')!r}", value=raw
            )
        )
        return
    out.statuses.append(
        StatusUpdate(
            message_id=str(raw["id"]),
            status=status,
            timestamp=int(raw.get("timestamp") or 0),
            phone_number_id=number,
            recipient_id=raw.get("recipient_id") or raw.get("recipient_user_id"),
            errors=raw.get("errors") or [],
        )
    )


def _contact_for(contacts: list[Contact], wa_id: str | None, user_id: str | None) -> Contact | None:
    for contact in contacts:
        if (wa_id and contact.wa_id == wa_id) or (user_id and contact.user_id == user_id):
            return contact
    return contacts[0] if len(contacts) == 1 else None


def _summary(field_name: str, value: dict[str, Any]) -> str:
    for key in ("event", "message_template_name", "new_category", "new_quality_score"):
        if key in value:
            return f"{key}={value[key]}"[:120]
    return field_name


def _errors(errors: list[dict[str, Any]]) -> str:
    return ", ".join(f"{e.get('code')} {e.get('title', '')}".strip() for e in errors)[:200]
