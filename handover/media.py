"""Customers' media for the desk: which conversation a media id came in (so only who may see it fetches it),
where its bytes come from (Meta's Graph API, or the sandbox's samples) and a small in-process cache."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import redis

from handover import keys


class MediaGone(Exception):
    """Meta no longer has it (media expire), or never had it: 410 for the desk."""


class MediaUnavailable(Exception):
    """Meta could not be reached or failed: try again later (502 for the desk)."""


@dataclass(frozen=True)
class Media:
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class MediaRef:
    """A media id as it came in: its conversation, type and file name."""

    conversation_id: str
    mime_type: str
    filename: str | None = None


class MediaSource(Protocol):
    async def fetch(self, media_id: str) -> Media: ...

    async def upload(self, phone_number_id: str, content: bytes, mime_type: str, filename: str) -> str:
        """Give a file to WhatsApp for sending; its media id (raises MediaUnavailable)."""
        ...


MB = 1024 * 1024
# What WhatsApp takes as each kind of message, and how big (Cloud API "Supported media types"); this desk
# sends at most MAX_UPLOAD (it holds a file in memory while it uploads it), documents included.
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


class MediaCache:
    """The last fetched media, up to `max_bytes` in all and `item_bytes` each, for `ttl` seconds: an agent
    scrolling a transcript again does not download every photo from Meta again."""

    def __init__(
        self,
        source: MediaSource,
        max_bytes: int = 64 * 1024 * 1024,
        item_bytes: int = 16 * 1024 * 1024,
        ttl: float = 3600,
    ) -> None:
        self.source = source
        self.max_bytes, self.item_bytes, self.ttl = max_bytes, item_bytes, ttl
        self._items: OrderedDict[str, tuple[float, Media]] = OrderedDict()
        self._size = 0

    async def fetch(self, media_id: str) -> Media:
        now = time.monotonic()
        found = self._items.get(media_id)
        if found is not None and now - found[0] < self.ttl:
            self._items.move_to_end(media_id)
            return found[1]
        media = await self.source.fetch(media_id)
        self._forget(media_id)
        if len(media.content) <= self.item_bytes:
            self._items[media_id] = (now, media)
            self._size += len(media.content)
            while self._size > self.max_bytes:
                self._forget(next(iter(self._items)))
        return media

    async def upload(self, phone_number_id: str, content: bytes, mime_type: str, filename: str) -> str:
        return await self.source.upload(phone_number_id, content, mime_type, filename)

    def _forget(self, media_id: str) -> None:
        gone = self._items.pop(media_id, None)
        if gone is not None:
            self._size -= len(gone[1].content)
