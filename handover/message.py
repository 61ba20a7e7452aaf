"""Channel-agnostic message types: what the edges make of WhatsApp payloads, and what the domain sends."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROFILE_NAME_MAX = 256  # characters of a customer's profile name or username kept (WhatsApp allows 25 and 35)


def routing_key(phone_number_id: str, customer_key: str) -> str:
    """The customer's partition routing key: everything from and to one customer of one business number
    goes through the same partition, so it is handled in order."""
    return f"{phone_number_id}:{customer_key}"


class CustomerRef(BaseModel):
    """Who wrote: keyed on the business number and the customer's `user_id` when present, else `wa_id`."""

    model_config = ConfigDict(frozen=True)

    phone_number_id: str
    wa_id: str | None = None
    user_id: str | None = None
    # the business-portfolio-wide id Meta sends beside user_id when parent BSUIDs are on: kept, never a key
    # (user_id is already stable within one number, and a parent id spans businesses we do not serve)
    parent_user_id: str | None = None
    username: str | None = None
    profile_name: str | None = None

    @property
    def key(self) -> str:
        """The stable customer key inside one business number (usernames may come without a wa_id)."""
        return self.user_id or self.wa_id or "unknown"

    @property
    def address(self) -> str:
        """Where replies go: the phone number when known, else the business-scoped user id."""
        return self.wa_id or self.user_id or "unknown"

    @property
    def routing_key(self) -> str:
        return routing_key(self.phone_number_id, self.key)


class InboundKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    BUTTON_REPLY = "button_reply"
    LIST_REPLY = "list_reply"
    FLOW_REPLY = "flow_reply"
    TEMPLATE_BUTTON = "template_button"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    REVOKE = "revoke"
    EDIT = "edit"
    REQUEST_WELCOME = "request_welcome"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


# what a customer says, as opposed to what changes another message (reaction, edit, revoke) or
# WhatsApp's own notices: what a read receipt, and an agent's "typing…", is shown on
RECEIPTED = frozenset(
    {
        InboundKind.TEXT,
        InboundKind.IMAGE,
        InboundKind.AUDIO,
        InboundKind.VIDEO,
        InboundKind.DOCUMENT,
        InboundKind.STICKER,
        InboundKind.LOCATION,
        InboundKind.CONTACTS,
        InboundKind.BUTTON_REPLY,
        InboundKind.LIST_REPLY,
        InboundKind.FLOW_REPLY,
        InboundKind.TEMPLATE_BUTTON,
        InboundKind.ORDER,
    }
)


class InboundMessage(BaseModel):
    """One message a customer sent, whatever its WhatsApp type.

    `text` is what a bot can read (body, caption, button title, list row title); `reply_id` the id of the
    button or row tapped; `media_id` a reference to download within minutes; `content` keeps the rest of
    the type-specific object as received (unknown fields included) so nothing is lost.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    customer: CustomerRef
    timestamp: int  # seconds since the epoch, as WhatsApp sends it
    kind: InboundKind
    wa_type: str  # the raw `type` WhatsApp gave, e.g. "interactive", "button", "pool"
    text: str | None = None
    reply_id: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    context_id: str | None = None  # the message this one replies to / reacts to / revokes
    referral: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    content: dict[str, Any] = Field(default_factory=dict)
    # coexistence: a message a person sent to `customer` from the WhatsApp Business app on our number
    echo: bool = False
    # a `system` number or id change: `customer` is who they are now, this who they were (handover/rekey.py)
    changed_from: CustomerRef | None = None


class DeliveryStatus(StrEnum):
    """Delivery states of an outbound message, ranked so a status never moves backwards."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.FAILED: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
    DeliveryStatus.PLAYED: 5,
}


class StatusUpdate(BaseModel):
    """WhatsApp telling us what happened to a message we sent."""

    model_config = ConfigDict(frozen=True)

    message_id: str  # the WhatsApp id (wamid) our send returned
    status: DeliveryStatus
    timestamp: int
    phone_number_id: str
    recipient_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def routing_key(self) -> str:
        """The partition of the customer it was sent to, when WhatsApp names them (it always does for
        messages to a phone number)."""
        return routing_key(self.phone_number_id, self.recipient_id or self.message_id)


class OtherEvent(BaseModel):
    """Any webhook change we acknowledge and keep but do not act on (template updates, calls, echoes...)."""

    model_config = ConfigDict(frozen=True)

    field: str
    phone_number_id: str | None = None
    summary: str = ""
    value: dict[str, Any] = Field(default_factory=dict)


class Button(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=20)


class ListRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(default=None, max_length=72)


class ListSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str | None = Field(default=None, max_length=24)
    rows: list[ListRow] = Field(min_length=1, max_length=10)


class OutboundKind(StrEnum):
    TEXT = "text"
    BUTTONS = "buttons"
    LIST = "list"
    TEMPLATE = "template"
    MARK_READ = "mark_read"
    MEDIA = "media"  # an uploaded file sent by its media id (agents' attachments)
    REACTION = "reaction"  # an emoji on a message (message_id), or none to take it back


class OutboundRequest(BaseModel):
    """Something to send to one customer: a text, reply buttons, a list, a template, a file, a reaction, or
    a read receipt (with "typing…" or not).

    WhatsApp's limits are checked here, so a bad request fails where it is made, not at Meta.
    """

    model_config = ConfigDict(frozen=True)

    kind: OutboundKind
    phone_number_id: str
    to: str  # wa_id, or the business-scoped user id for customers known only by username
    text: str | None = Field(default=None, max_length=4096)
    buttons: list[Button] = Field(default_factory=list, max_length=3)
    list_button: str | None = Field(default=None, max_length=20)
    sections: list[ListSection] = Field(default_factory=list, max_length=10)
    template_name: str | None = None
    template_language: str | None = None
    template_params: list[str] = Field(default_factory=list)
    message_id: str | None = None  # for mark_read: the inbound wamid; for a reaction: the message reacted to
    typing: bool = False  # for mark_read: also show "typing…" to the customer (up to 25 s, or the reply)
    reply_to: str | None = None  # context: the message this answers
    media_id: str | None = None  # for media: what Meta's upload answered
    media_type: Literal["image", "audio", "video", "document"] | None = None
    mime_type: str | None = None  # for media: the file's type, what the desk shows it as
    filename: str | None = Field(default=None, max_length=240)  # documents: the name the customer sees

    def model_post_init(self, __context: Any) -> None:
        rows = sum(len(s.rows) for s in self.sections)
        if rows > 10:
            raise ValueError(f"a list has at most 10 rows, got {rows}")
        if self.kind in (OutboundKind.TEXT, OutboundKind.BUTTONS, OutboundKind.LIST) and not self.text:
            raise ValueError(f"a {self.kind} message needs text")
        if self.kind is OutboundKind.BUTTONS and not self.buttons:
            raise ValueError("a buttons message needs 1 to 3 buttons")
        if self.kind is OutboundKind.LIST and (not self.sections or not self.list_button):
            raise ValueError("a list message needs a button label and at least one section")
        untitled = any(not section.title for section in self.sections)
        if self.kind is OutboundKind.LIST and len(self.sections) > 1 and untitled:
            raise ValueError("a list with several sections needs a title on each")
        if self.kind in (OutboundKind.BUTTONS, OutboundKind.LIST) and self.text and len(self.text) > 1024:
            raise ValueError(f"interactive body text has at most 1024 characters, got {len(self.text)}")
        if self.kind in (OutboundKind.MARK_READ, OutboundKind.REACTION) and not self.message_id:
            raise ValueError(f"{self.kind} needs the id of the message it is about")
        if self.kind is OutboundKind.REACTION and self.text and len(self.text) > 16:
            raise ValueError("a reaction is one emoji")
        if self.kind is OutboundKind.TEMPLATE and not (self.template_name and self.template_language):
            raise ValueError("a template message needs a name and a language")
        if self.kind is OutboundKind.MEDIA and not (self.media_id and self.media_type):
            raise ValueError("a media message needs the uploaded media id and its type")
        if (
            self.kind is OutboundKind.MEDIA
            and self.text
            and (self.media_type == "audio" or len(self.text) > 1024)
        ):
            raise ValueError("a caption has at most 1024 characters, and a voice message has none")


class SendOutcome(BaseModel):
    """What one send achieved: the WhatsApp id on success, or a recorded error."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    wa_message_id: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    retryable: bool = False


Direction = Literal["in", "out", "note"]  # note: an agent's private note, never sent (handover/notes.py)
