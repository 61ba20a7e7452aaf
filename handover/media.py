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

    def _forget(self, media_id: str) -> None:
        gone = self._items.pop(media_id, None)
        if gone is not None:
            self._size -= len(gone[1].content)
