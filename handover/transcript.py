"""Transcript entries: every message both ways, with the delivery status of what we sent."""

from __future__ import annotations

import bisect
from typing import Any

from pydantic import BaseModel, Field, computed_field

from handover.masking import mask
from handover.message import DeliveryStatus, Direction, InboundMessage, OutboundRequest

NOTE_PREFIX = "note."  # agents' notes' ids: the transcript's cap never trims them (handover/notes.py)


class Delivery(BaseModel):
    """What WhatsApp told us about one outbound message; moves forward only (see DeliveryStatus.rank)."""

    status: DeliveryStatus = DeliveryStatus.PENDING
    wa_message_id: str | None = None
    updated_at: float | None = None
    error_code: int | None = None
    error_title: str | None = None
    attempts: int = 0


class TranscriptEntry(BaseModel):
    """One message in the conversation. Inbound entries are keyed by WhatsApp id, outbound by ours."""

    id: str
    direction: Direction
    at: float  # seconds since the epoch: WhatsApp's time for inbound, ours for outbound
    seq: int = (
        0  # position in the conversation: orders entries that share a timestamp (WhatsApp's are in seconds)
    )
    kind: str
    author: str = "customer"  # customer | bot | agent:<id> | system
    text: str | None = None
    reply_id: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    context_id: str | None = None
    content: dict[str, Any] = Field(default_factory=dict)
    delivery: Delivery | None = None  # outbound only; filled from the delivery hash when read

    @computed_field  # type: ignore[prop-decorator]
    @property
    def media(self) -> dict[str, str] | None:
        """What a client needs to show a photo, voice note or document: fetch its bytes from
        GET /api/v1/media/{id}; the file name (documents) and caption when the customer gave them."""
        if not self.media_id:
            return None
        media = {"id": self.media_id, "mime_type": self.mime_type or "application/octet-stream"}
        for name in ("filename", "caption"):
            if isinstance(self.content.get(name), str) and self.content[name]:
                media[name] = self.content[name]
        return media

    def redacted(self, what: str) -> TranscriptEntry:
        """The entry without what the customer typed: only that it was, e.g., their CPF."""
        return self.model_copy(update={"text": f"[{what}]", "content": {"redacted": what}})

    def masked(self, what: str) -> TranscriptEntry:
        """The entry with its numbers and e-mail addresses masked ("meu cpf é #, vou no procon"), written
        while the bot asked for `what`; unchanged when there are none."""
        text = mask(self.text) if self.text else self.text
        if text == self.text:
            return self
        return self.model_copy(update={"text": text, "content": {"masked": what}})

    def kept(
        self, redact: str | None = None, awaited: str | None = None, edited: TranscriptEntry | None = None
    ) -> TranscriptEntry:
        """What the transcript keeps of a customer message: what proves an identity never. The answer to
        an identity question (`redact`) only as what it was ("[cpf]"); anything else written while the bot
        asked for one (`awaited`: a trigger fired first, a person was asked for, an edit) masked; an edit
        as the message it `edited` was kept."""
        redact = redact or (edited.content.get("redacted") if edited else None)
        awaited = awaited or (edited.content.get("masked") if edited else None)
        return self.redacted(redact) if redact else self.masked(awaited) if awaited else self

    @property
    def score(self) -> int:
        """Transcript order: milliseconds, then position (exact in a double until the year 2255)."""
        return int(self.at * 1000) * 1000 + self.seq % 1000

    @property
    def ceiling(self) -> int | str:
        """Inbound: the score of the second after WhatsApp's stamp, below which what we wrote in that same
        second still goes first (see the store's append); '' for outbound, whose time is ours, exact."""
        return int(self.at + 1) * 1000 * 1000 if self.direction == "in" else ""

    @classmethod
    def from_inbound(cls, message: InboundMessage, seq: int) -> TranscriptEntry:
        return cls(
            id=message.id,
            direction="in",
            at=float(message.timestamp),
            seq=seq,
            kind=message.kind,
            text=message.text,
            reply_id=message.reply_id,
            media_id=message.media_id,
            mime_type=message.mime_type,
            context_id=message.context_id,
            content={"wa_type": message.wa_type, **message.content}
            | ({"errors": message.errors} if message.errors else {}),
        )

    @classmethod
    def from_outbound(
        cls, entry_id: str, request: OutboundRequest, author: str, at: float, seq: int
    ) -> TranscriptEntry:
        return cls(
            id=entry_id,
            direction="out",
            at=at,
            seq=seq,
            kind=request.kind,
            author=author,
            text=request.text,
            context_id=request.message_id if request.kind == "reaction" else request.reply_to,
            media_id=request.media_id,
            mime_type=request.mime_type,
            content=request.model_dump(mode="json", exclude_defaults=True, exclude={"kind", "text"})
            | ({"caption": request.text} if request.media_id and request.text else {}),
        )


def placed(entries: list[TranscriptEntry], fresh: list[TranscriptEntry]) -> list[TranscriptEntry]:
    """`entries` (in transcript order) with `fresh` ones added where the store's append puts them: by
    time, except that a customer message stamped in the second of the last entry comes after it."""
    result = list(entries)
    for entry in fresh:
        last = result[-1] if result else None
        if last is not None and entry.direction == "in" and entry.at <= last.at < entry.at + 1:
            result.append(entry)
        else:
            result.insert(bisect.bisect_right(result, entry.score, key=lambda e: e.score), entry)
    return result
