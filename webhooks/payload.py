"""Meta's webhook envelope as frozen pydantic models, read level by level so a bad item costs only itself."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Lists of items are typed `list[Any]` on purpose: normalize.py validates each item with its own model and
# rejects only that item, so one strange message never costs its neighbours (or the whole POST).
_READ = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
# Messages and statuses keep what we do not model: the type-specific object lives under a key named by `type`.
_KEEP = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class Envelope(BaseModel):
    """The body Meta POSTs: `{"object": "whatsapp_business_account", "entry": [...]}`."""

    model_config = _READ

    object: str
    entry: list[Any]


class Entry(BaseModel):
    """One WhatsApp Business Account's share of the body."""

    model_config = _READ

    id: str | None = None
    changes: list[Any] = Field(default_factory=list)


class Change(BaseModel):
    """One notification; `field` says what it is about (`messages`, `account_update`, `calls`...)."""

    model_config = _READ

    field: str = ""
    value: dict[str, Any] | None = None  # kept raw: events we do not act on are stored as received


class Metadata(BaseModel):
    model_config = _READ

    display_phone_number: str | None = None
    phone_number_id: str | None = None


class ChangeValue(BaseModel):
    """What a `messages` change carries; every part may be absent."""

    model_config = _READ

    messaging_product: str | None = None
    metadata: Metadata = Field(default_factory=Metadata)
    contacts: list[Any] = Field(default_factory=list)
    messages: list[Any] = Field(default_factory=list)
    statuses: list[Any] = Field(default_factory=list)
    errors: list[Any] = Field(default_factory=list)
    message_echoes: list[Any] = Field(default_factory=list)  # field `smb_message_echoes` (coexistence)


class Profile(BaseModel):
    model_config = _READ

    name: str | None = None
    username: str | None = None


class Contact(BaseModel):
    """Who a message came from. Customers known only by username have a `user_id` and no `wa_id`."""

    model_config = _READ

    profile: Profile = Field(default_factory=Profile)
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None


class Context(BaseModel):
    """Set on replies (`id` of the message replied to) and on forwards (`forwarded` flags, no `id`)."""

    model_config = _READ

    id: str | None = None
    sender: str | None = Field(default=None, alias="from")
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None


class Message(BaseModel):
    """One `messages[]` object; the type-specific object (e.g. `image`) stays in the extra fields."""

    model_config = _KEEP

    id: str = Field(min_length=1)
    timestamp: int = Field(ge=0)
    type: str = "unknown"
    sender: str | None = Field(default=None, alias="from")  # absent for customers known only by username
    from_user_id: str | None = None
    from_parent_user_id: str | None = None
    # echoes only: the customer a person on the WhatsApp Business app wrote to
    recipient: str | None = Field(default=None, alias="to")
    to_user_id: str | None = None
    to_parent_user_id: str | None = None
    context: Context | None = None
    referral: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def type_object(self) -> Any:
        """The object named by `type` (`message["image"]` for an image), as received; None if absent."""
        return (self.model_extra or {}).get(self.type)


class Status(BaseModel):
    """One `statuses[]` object: what happened to a message we sent (or to a call)."""

    model_config = _KEEP

    id: str = Field(min_length=1)
    status: str
    timestamp: int = Field(ge=0)
    type: str | None = None  # "call" for call statuses
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
