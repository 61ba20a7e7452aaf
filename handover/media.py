"""Customers' media for the desk: which conversation a media id came in (so only who may see it fetches it),
where its bytes come from (Meta's Graph API, or the sandbox's samples), written into a sink chunk by chunk
(never held whole in memory), and the short-lived links the console's players open them by."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import redis

from handover import keys


class MediaGone(Exception):
    """Meta no longer has it (media expire), or never had it: 410 for the desk."""


class MediaUnavailable(Exception):
    """Meta could not be reached or failed: try again later (502 for the desk)."""


class MediaTooLarge(MediaUnavailable):
    """More bytes than any media WhatsApp carries (RECEIVED_MOST): not kept, 502 for the desk."""


@dataclass(frozen=True)
class MediaRef:
    """A media id as it came in: its conversation, type and file name."""

    conversation_id: str
    mime_type: str
    filename: str | None = None


class Sink(Protocol):
    """Where a download's bytes go as they arrive (a file of the desk's spool); it may refuse a chunk by
    raising (MediaTooLarge, or the spool's own "no room" error), which ends the download."""

    def write(self, chunk: bytes) -> object: ...


class MediaSource(Protocol):
    async def download(self, media_id: str, sink: Sink) -> str:
        """Write the media's bytes into `sink` as they come; its MIME type (MediaGone, MediaUnavailable)."""
        ...

    async def upload(self, phone_number_id: str, file: Path, mime_type: str, filename: str) -> str:
        """Give a file (read from disk as it goes) to WhatsApp to send; its media id (MediaUnavailable)."""
        ...


MB = 1024 * 1024
RECEIVED_MOST = 100 * MB  # the largest media WhatsApp carries (a document); a download past it is refused
# What WhatsApp takes as each kind of message, and how big (Cloud API "Supported media types"); this desk
# sends at most MAX_UPLOAD (an agent's upload waits on disk while it goes), documents included.
SENDABLE: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "audio": (frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MB),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    "document": (
        frozenset(
            {
                "application/pdf",
                "text/plain",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * MB,
    ),
}
MAX_UPLOAD = 16 * MB


class NotSendable(Exception):
    """WhatsApp would refuse the file: its type, or its size (`too_large`)."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def sendable_kind(mime_type: str) -> str:
    """The WhatsApp message type a file of this MIME type goes as; NotSendable for any other type."""
    for kind, (types, _) in SENDABLE.items():
        if mime_type in types:
            return kind
    allowed = ", ".join(sorted(t for types, _ in SENDABLE.values() for t in types))
    raise NotSendable(f"WhatsApp does not take {mime_type or 'this type of file'} (it takes {allowed})")


def most_bytes(kind: str) -> int:
    """The largest file of this kind that can go: WhatsApp's limit, or this desk's, the smaller."""
    return min(SENDABLE[kind][1], MAX_UPLOAD)


def media_ref(client: redis.Redis, media_id: str) -> MediaRef | None:
    raw = client.get(keys.media_key(media_id))
    if not raw:
        return None
    found = json.loads(raw)
    return MediaRef(found["conversation_id"], found.get("mime_type") or "", found.get("filename"))


TICKET_SECONDS = 300  # a media link works this long: a player's range requests, a document's download


@dataclass(frozen=True)
class MediaTicket:
    """Who asked for a media link, and for which media: the link opens that media only."""

    agent_id: str
    media_id: str


def issue_ticket(client: redis.Redis, agent_id: str, media_id: str) -> str:
    """A random ticket for `media_id` on behalf of `agent_id`, kept TICKET_SECONDS."""
    ticket = secrets.token_urlsafe(24)
    value = json.dumps({"agent_id": agent_id, "media_id": media_id})
    client.set(keys.media_ticket_key(ticket), value, ex=TICKET_SECONDS)
    return ticket


def ticket_of(client: redis.Redis, ticket: str) -> MediaTicket | None:
    """The ticket's agent and media while it lasts; None once expired, or never issued."""
    if not ticket or len(ticket) > 64:
        return None
    raw = client.get(keys.media_ticket_key(ticket))
    if not raw:
        return None
    found = json.loads(raw)
    return MediaTicket(str(found["agent_id"]), str(found["media_id"]))
