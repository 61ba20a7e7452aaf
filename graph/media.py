"""Customers' media from Meta's Graph API, for the desk's media route (web process)."""

from __future__ import annotations

from pathlib import Path

from graph.client import GraphClient
from graph.errors import GraphError
from handover.media import MediaGone, MediaUnavailable, Sink


class GraphMedia:
    """`GET /{media-id}` for a short-lived URL, then the bytes with the access token (never shown), streamed
    into the desk's sink; uploads streamed from the file the desk spooled."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    async def download(self, media_id: str, sink: Sink) -> str:
        try:
            return await self.graph.download_media(media_id, sink)
        except GraphError as exc:
            if exc.retryable or exc.status == 0 or exc.status >= 500:
                raise MediaUnavailable(str(exc)[:200]) from exc
            raise MediaGone(media_id) from exc  # expired at Meta (they keep media for a while), or unknown

    async def upload(self, phone_number_id: str, file: Path, mime_type: str, filename: str) -> str:
        try:
            return await self.graph.upload_media(phone_number_id, file, mime_type, filename)
        except GraphError as exc:
            raise MediaUnavailable(
                f"WhatsApp did not take the file: {exc.title or exc.status}"[:200]
            ) from exc
