"""Customers' media from Meta's Graph API, for the desk's media route (web process)."""

from __future__ import annotations

from handover.media import Media, MediaGone, MediaUnavailable
from workers.errors import GraphError
from workers.graph import GraphClient


class GraphMedia:
    """`GET /{media-id}` for a short-lived URL, then the bytes with the access token (never shown)."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    async def fetch(self, media_id: str) -> Media:
        try:
            content, mime_type = await self.graph.download_media(media_id)
        except GraphError as exc:
            if exc.retryable or exc.status == 0 or exc.status >= 500:
                raise MediaUnavailable(str(exc)[:200]) from exc
            raise MediaGone(media_id) from exc  # expired at Meta (they keep media for a while), or unknown
        return Media(content, mime_type)

    async def upload(self, phone_number_id: str, content: bytes, mime_type: str, filename: str) -> str:
        try:
            return await self.graph.upload_media(phone_number_id, content, mime_type, filename)
        except GraphError as exc:
            raise MediaUnavailable(
                f"WhatsApp did not take the file: {exc.title or exc.status}"[:200]
            ) from exc
