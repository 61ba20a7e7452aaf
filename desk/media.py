"""Customers' media under /api/v1/media/{media_id}: for whoever may see the conversation it came in, the
bytes with their type, never Meta's URL nor the access token. What a browser could run (HTML, SVG...) is
only ever downloaded, and sandboxed."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web

from desk.http import AGENT, DESK, DeskContext
from desk.openapi import Route
from handover.agents import Agent
from handover.errors import NotFound
from handover.media import MediaGone, MediaRef, MediaUnavailable, media_ref

# shown in the page (an <img>, an <audio> player); anything else is a download
INLINE = ("image/jpeg", "image/png", "image/webp", "image/gif", "audio/", "video/")


def _allowed(ctx: DeskContext, agent: Agent, media_id: str) -> MediaRef:
    ref = media_ref(ctx.store.client, media_id)
    if ref is None:
        raise NotFound(f"no media {media_id!r} in any conversation kept")
    ctx.assignments.conversation_for(agent, ref.conversation_id)  # 403 unless they may see it
    return ref


async def get_media(request: web.Request) -> web.StreamResponse:
    ctx, agent, media_id = request.app[DESK], request[AGENT], request.match_info["media_id"]
    ref = await asyncio.to_thread(_allowed, ctx, agent, media_id)
    try:
        media = await ctx.media.fetch(media_id)
    except MediaGone:
        raise web.HTTPGone(text="this media is no longer available at WhatsApp") from None
    except MediaUnavailable:
        raise web.HTTPBadGateway(text="WhatsApp did not give the media now: try again") from None
    mime = ref.mime_type or media.mime_type or "application/octet-stream"  # as the message said
    inline = mime.startswith(INLINE)
    name = ref.filename or f"{media_id}"
    disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(name)}"
    return web.Response(
        body=media.content,
        content_type=mime.split(";")[0].strip(),
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


MEDIA_ROUTES = [
    Route(
        "GET",
        "/media/{media_id}",
        get_media,
        "A customer's photo, voice note, video or document (a transcript entry's media.id): the bytes with "
        "their Content-Type and file name, for whoever may see its conversation; 410 once WhatsApp no "
        "longer has it, 502 when WhatsApp cannot give it now",
        extra={
            200: "the bytes, with their Content-Type (inline for images, audio and video, else a download)",
            403: "not yours: the conversation it came in is not one you may see",
            404: "no such media in any conversation kept",
            410: "no longer available at WhatsApp",
            502: "WhatsApp could not give it now",
        },
    ),
]
