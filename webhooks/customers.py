"""Who a webhook message is from (or, for an echo, to), and who a number or id change says they are now."""

from __future__ import annotations

from typing import Any

from handover.message import CustomerRef
from webhooks import bounds, payload

# `system` messages that say a customer is now known by another number or business-scoped id
IDENTITY_CHANGES = ("user_changed_number", "user_changed_user_id")


def customer(
    message: payload.Message,
    number: str | None,
    contacts: Contacts,
    wa_id: str | None,
    user_id: str | None,
    parent_user_id: str | None,
) -> CustomerRef:
    if number is None:
        raise ValueError("without metadata.phone_number_id")
    bounds.identifier("id", message.id, bounds.ID_MAX)  # every field within Meta's sizes: webhooks/bounds.py
    contact = sender_contact(contacts, wa_id, user_id)
    customer = CustomerRef(
        phone_number_id=bounds.identifier("metadata.phone_number_id", number, bounds.USER_ID_MAX),
        wa_id=bounds.identifier("from", wa_id or (contact.wa_id if contact else None), bounds.WA_ID_MAX),
        user_id=bounds.identifier(
            "from_user_id", user_id or (contact.user_id if contact else None), bounds.USER_ID_MAX
        ),
        parent_user_id=bounds.identifier(
            "from_parent_user_id",
            parent_user_id or (contact.parent_user_id if contact else None),
            bounds.USER_ID_MAX,
        ),
        username=bounds.name(contact.profile.username) if contact else None,
        profile_name=bounds.name(contact.profile.name) if contact else None,
    )
    if customer.wa_id is None and customer.user_id is None:
        raise ValueError("without a sender (no from, from_user_id or matching contact)")
    return customer


def identity_change(message: payload.Message, before: CustomerRef) -> CustomerRef | None:
    """Who a `user_changed_number` / `user_changed_user_id` says the customer is now: the new number
    (`system.wa_id`) and business-scoped ids (`system.user_id`, `parent_user_id`); None for other system
    messages, or one naming nothing new. Meta sends the previous ids as `previous_user_id`..."""
    system = _object(message.type_object)
    change = system.get("type")
    if change not in IDENTITY_CHANGES:
        return None
    number = _text(system.get("wa_id"), bounds.WA_ID_MAX)
    user_id = _text(system.get("user_id"), bounds.USER_ID_MAX)
    after = CustomerRef(
        phone_number_id=before.phone_number_id,
        wa_id=number if change == "user_changed_number" else number or before.wa_id,
        user_id=user_id,
        parent_user_id=_text(system.get("parent_user_id"), bounds.USER_ID_MAX),
        username=before.username,
        profile_name=before.profile_name,
    )
    if after.wa_id is None and after.user_id is None:
        return None
    return None if (after.key, after.wa_id) == (before.key, before.wa_id) else after


def as_before(message: payload.Message, before: CustomerRef) -> CustomerRef:
    """The customer as they were before a change: with the previous ids Meta names, when it names them."""
    system = _object(message.type_object)
    return before.model_copy(
        update={
            "user_id": _text(system.get("previous_user_id"), bounds.USER_ID_MAX) or before.user_id,
            "parent_user_id": _text(system.get("previous_parent_user_id"), bounds.USER_ID_MAX)
            or before.parent_user_id,
        }
    )


class Contacts:
    """A change's contacts, found by wa_id or user_id in constant time (a batch may hold thousands)."""

    def __init__(self, contacts: list[payload.Contact]) -> None:
        self.all = contacts
        self.by_wa_id: dict[str, payload.Contact] = {}
        self.by_user_id: dict[str, payload.Contact] = {}
        for contact in contacts:  # the first of a repeated id wins, as a scan in order would find it
            if contact.wa_id:
                self.by_wa_id.setdefault(contact.wa_id, contact)
            if contact.user_id:
                self.by_user_id.setdefault(contact.user_id, contact)


def sender_contact(contacts: Contacts, wa_id: str | None, user_id: str | None) -> payload.Contact | None:
    found = (contacts.by_wa_id.get(wa_id) if wa_id else None) or (
        contacts.by_user_id.get(user_id) if user_id else None
    )
    if found is not None:
        return found
    if len(contacts.all) != 1:
        return None
    # The only contact is the sender unless its ids say otherwise: mixing two people's ids would file a
    # message in someone else's conversation.
    only = contacts.all[0]
    contradicts = (wa_id and only.wa_id and only.wa_id != wa_id) or (
        user_id and only.user_id and only.user_id != user_id
    )
    return None if contradicts else only


def _text(value: Any, most: int) -> str | None:
    """A non-empty string id within `most` characters (TooLong past it), else None."""
    return bounds.identifier("system id", value, most) if isinstance(value, str) and value else None


def digits(value: str | None) -> str:
    return "".join(c for c in value or "" if c.isdigit())


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
