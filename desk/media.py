"""Customers' media under /api/v1/media/{media_id}: for whoever may see the conversation it came in, the
file with its type, never Meta's URL nor the access token. What a browser could run (HTML, SVG...) is
only ever downloaded, and sandboxed. The file comes from the spool (desk/spool.py: one download per media,
kept on disk) by sendfile, with ranges for players; a short-lived link (`POST .../link`) lets a player or a
download open it without the bearer header, which an <audio>, <video> or <a download> cannot send."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from urllib.parse import quote

import structlog
from aiohttp import web

from desk.attach import post_media
from desk.http import AGENT, DESK, DeskContext, error, ok
from desk.models import MediaLinkView, SentView
from desk.openapi import Route
from desk.spool import MediaSpool, SpoolBusy, Spooled
from desk.threads import in_thread
from handover.agents import Agent
from handover.errors import NotFound
from handover.media import (
    TICKET_SECONDS,
    MediaGone,
    MediaRef,
    MediaUnavailable,
)

log = structlog.get_logger(__name__)

# shown in the page (an <img>, an <audio> player); anything else is a download
INLINE = ("image/jpeg", "image/png", "image/webp", "image/gif", "audio/", "video/")
# A media answer is sent whole within a minute and a second per 128 KB (100 MB: 14 min), else its
# connection closes: a client that stops reading does not hold its file and its slot for ever (a paused
# player asks again with a range when it needs more).
SEND_GRACE_SECONDS = 60.0
SEND_BYTES_PER_SECOND = 128 * 1024


def _allowed(ctx: DeskContext, agent: Agent, media_id: str) -> MediaRef:
    ref = ctx.reads.media(media_id)
    if ref is None:
        raise NotFound(f"no media {media_id!r} in any conversation kept")
    ctx.assignments.conversation_for(agent, ref.conversation_id)  # 403 unless they may see it
    return ref


class _Once:
    """Calls `done` the first time it is called; later calls do nothing."""

    def __init__(self, done: Callable[[], None]) -> None:
        self._done: Callable[[], None] | None = done

    def __call__(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()


class SpooledFileResponse(web.FileResponse):
    """A spooled file sent by sendfile (ranges, If-Range, 206 and 416 are aiohttp's); what it holds (the
    file's pin, the agent's media request) is let go once it is sent, or when it is dropped unsent."""

    def __init__(self, spooled: Spooled, done: Callable[[], None], headers: dict[str, str]) -> None:
        super().__init__(spooled.path, headers=headers)
        self._deadline = SEND_GRACE_SECONDS + spooled.size / SEND_BYTES_PER_SECOND
        self._finished = _Once(done)
        weakref.finalize(self, self._finished)  # a client gone before its answer began: never prepared

    async def prepare(self, request: web.BaseRequest):  # type: ignore[no-untyped-def]
        try:
            async with asyncio.timeout(self._deadline):
                return await super().prepare(request)
        except TimeoutError:
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("the media was not read in time") from None
        finally:
            self._finished()


async def get_media(request: web.Request) -> web.StreamResponse:
    ctx, agent, media_id = request.app[DESK], request[AGENT], request.match_info["media_id"]
    ref = await in_thread(_allowed, ctx, agent, media_id)
    limits = ctx.media_limits
    if not limits.requests_per_agent.take(agent.id):
        most = limits.requests_per_agent.most
        refused = error(429, "too_many_requests", f"at most {most} media requests at once per agent")
        refused.headers["Retry-After"] = str(limits.retry_after)
        return refused
    spooled: Spooled | None = None
    try:
        spooled = await ctx.media.open(media_id)
    except MediaGone:
        raise web.HTTPGone(text="this media is no longer available at WhatsApp") from None
    except MediaUnavailable:
        raise web.HTTPBadGateway(text="WhatsApp did not give the media now: try again") from None
    except SpoolBusy as exc:
        log.warning("desk_media_busy", media_id=media_id, reason=str(exc))
        busy = error(503, "busy", "too many media on their way here; retry later")
        busy.headers["Retry-After"] = str(limits.retry_after)
        return busy
    finally:
        if spooled is None:
            limits.requests_per_agent.give_back(agent.id)
    return SpooledFileResponse(spooled, _releasing(ctx.media, spooled, ctx, agent), _headers(ref, spooled))


def _releasing(spool: MediaSpool, spooled: Spooled, ctx: DeskContext, agent: Agent) -> Callable[[], None]:
    def release() -> None:
        spool.release(spooled)
        ctx.media_limits.requests_per_agent.give_back(agent.id)

    return release


def _headers(ref: MediaRef, spooled: Spooled) -> dict[str, str]:
    """The type the message said (never guessed from the file's name), inline or a download, and nothing a
    browser could run: nosniff and a sandboxing CSP."""
    mime = ref.mime_type or spooled.mime_type or "application/octet-stream"
    inline = mime.startswith(INLINE)
    name = ref.filename or spooled.media_id
    return {
        "Content-Type": mime.split(";")[0].strip(),
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


async def post_media_link(request: web.Request) -> web.Response:
    """A link to the media that works without the bearer header for TICKET_SECONDS, for this agent and this
    media only (the same check as GET, then again on every use)."""
    ctx, agent, media_id = request.app[DESK], request[AGENT], request.match_info["media_id"]
    await in_thread(_allowed, ctx, agent, media_id)
    ticket = await in_thread(ctx.reads.issue_ticket, agent.id, media_id)
    url = f"/api/v1/media/{quote(media_id, safe='')}?ticket={ticket}"
    return ok(MediaLinkView(url=url, expires_in=TICKET_SECONDS))


MEDIA_ROUTES = [
    Route(
        "POST",
        "/conversations/{id}/media",
        post_media,
        "Send a file (multipart/form-data: `file`, optional `caption`) to the customer of a conversation "
        "I hold within the 24-hour window: an image (JPEG, PNG, 5 MB), audio (AAC, AMR, MP3, MP4, OGG), "
        "video (MP4, 3GPP) or document (PDF, text, Office; 16 MB here); checked before it is uploaded",
        response=SentView,
        status=202,
        extra={
            400: "not a multipart/form-data body: no boundary, cut short, bad part headers (code bad_form)",
            409: "wrong state, or the 24-hour window has closed (code window_closed)",
            413: "larger than WhatsApp takes for its type (code too_large)",
            415: "a type WhatsApp does not take (code unsupported_media_type), or bytes that are not of the "
            "type declared (code content_mismatch)",
            422: "not multipart, no file, a second file or caption, more than 8 parts, or a caption too long",
            429: "two uploads of mine under way already (code too_many_requests, with Retry-After)",
            502: "WhatsApp did not take the upload (code upload_failed)",
            503: "too many uploads under way in this process (code busy, with Retry-After)",
        },
    ),
    Route(
        "GET",
        "/media/{media_id}",
        get_media,
        "A customer's photo, voice note, video or document (a transcript entry's media.id): the bytes with "
        "their Content-Type and file name, for whoever may see its conversation (Range requests answered "
        "206); with `?ticket=` from POST /media/{media_id}/link instead of the bearer header; 410 once "
        "WhatsApp no longer has it, 502 when WhatsApp cannot give it now",
        extra={
            200: "the bytes, with their Content-Type (inline for images, audio and video, else a download)",
            206: "the range asked for (Content-Range), for players seeking",
            401: "no token, or a link's ticket unknown, expired, or for another media",
            403: "not yours: the conversation it came in is not one you may see",
            404: "no such media in any conversation kept",
            410: "no longer available at WhatsApp",
            416: "a range past the file's end",
            429: "more media requests of mine under way than allowed (code too_many_requests)",
            502: "WhatsApp could not give it now",
            503: "too many media on their way here (code busy, with Retry-After)",
        },
    ),
    Route(
        "POST",
        "/media/{media_id}/link",
        post_media_link,
        "A link to a media for players and downloads, which cannot send the bearer header: "
        "`{url, expires_in}`, the URL working for 300 s, for me and this media only",
        response=MediaLinkView,
        extra={
            403: "not yours: the conversation it came in is not one you may see",
            404: "no such media in any conversation kept",
        },
    ),
]
