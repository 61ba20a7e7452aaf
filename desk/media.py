"""Customers' media under /api/v1/media/{media_id}: for whoever may see the conversation it came in, the
bytes with their type, never Meta's URL nor the access token. What a browser could run (HTML, SVG...) is
only ever downloaded, and sandboxed."""

from __future__ import annotations

import asyncio
import binascii
import mimetypes
import zlib
from urllib.parse import quote

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from desk.http import AGENT, DESK, BodyRefused, DeskContext, error, ok
from desk.models import SentView
from desk.openapi import Route
from desk.threads import in_thread
from desk.uploads import clean_name, is_what_it_says
from handover.agents import Agent
from handover.claims import SentMedia
from handover.errors import Invalid, NotFound
from handover.media import (
    MediaGone,
    MediaRef,
    MediaUnavailable,
    NotSendable,
    media_ref,
    most_bytes,
    sendable_kind,
)

CAPTION_MOST = 1024
FORM_MOST = 16 * 1024 * 1024 + 64 * 1024  # an upload's whole form: the largest file, a caption, the framing
UPLOAD_BYTES_PER_SECOND = 256 * 1024  # the slowest link an upload is waited for, past the body deadline
PARTS_MOST = 8  # parts in an upload's form: a file, a caption, and some slack for what browsers add
# what a malformed form raises from aiohttp's reader or a part's decoding: no boundary, a cut body, bad
# part headers, an unknown charset or transfer encoding, bad base64 or gzip
MALFORMED = (ValueError, LookupError, RuntimeError, binascii.Error, zlib.error, HttpProcessingError)

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
    ref = await in_thread(_allowed, ctx, agent, media_id)
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


async def post_media(request: web.Request) -> web.Response:
    """An agent attaches a file: checked against WhatsApp's types and sizes before anything is uploaded,
    uploaded from here (the bytes are here), then sent by its media id through the outbound worker."""
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    conversation = await in_thread(ctx.assignments.answerable, agent, conversation_id)
    if not request.content_type.startswith("multipart/"):
        raise Invalid("send the file as multipart/form-data: `file`, and an optional `caption`")
    declared = request.content_length
    if declared is not None and declared > FORM_MOST:
        raise BodyRefused(413, "too_large", f"an upload is at most {FORM_MOST // (1024 * 1024)} MB")
    # the body deadline, and a second more for each 256 KB the form may hold (16 MB: 10 + 65 s)
    deadline = ctx.body_timeout + (declared or FORM_MOST) / UPLOAD_BYTES_PER_SECOND
    try:
        async with asyncio.timeout(deadline):
            read = await _read_form(request)
    except TimeoutError:
        raise BodyRefused(408, "body_timeout", f"upload not received within {deadline:g} s") from None
    except (ConnectionError, web.RequestPayloadError):
        raise BodyRefused(400, "body_incomplete", "the body ended before its declared length") from None
    except MALFORMED as exc:  # the rest of the body is not read: the connection closes
        raise BodyRefused(400, "bad_form", f"not a multipart/form-data body ({type(exc).__name__})") from None
    if isinstance(read, web.Response):
        return read
    file, caption = read
    if file is None:
        raise Invalid("no `file` part in the form")
    if len(caption) > CAPTION_MOST or (caption and file[2] == "audio"):
        raise Invalid(f"a caption has at most {CAPTION_MOST} characters, and a voice message has none")
    content, mime, kind, name = file
    try:
        media_id = await ctx.media.upload(conversation.phone_number_id, content, mime, name)
    except MediaUnavailable as exc:
        return error(502, "upload_failed", str(exc))
    sent = SentMedia(media_id, kind, mime, name, caption or None)  # type: ignore[arg-type]
    entry_id = await in_thread(ctx.assignments.send_media, agent, conversation_id, sent)
    return ok(SentView(id=entry_id, status="pending"), status=202)


Form = tuple[tuple[bytes, str, str, str] | None, str]  # (content, MIME type, kind, file name), caption


async def _read_form(request: web.Request) -> Form | web.Response:
    """The upload's parts, each within its size (BodyRefused past it); a Response for a type not sent."""
    reader = await request.multipart()
    file: tuple[bytes, str, str, str] | None = None  # content, MIME type, kind, file name
    caption: str | None = None
    parts = 0
    while (part := await reader.next()) is not None:
        parts += 1
        if parts > PARTS_MOST:
            raise Invalid(f"an upload's form has at most {PARTS_MOST} parts: `file` and `caption`")
        if not isinstance(part, BodyPartReader):
            raise Invalid("a part of the form is itself multipart: send `file` and `caption` only")
        if part.name == "caption":
            if caption is not None:
                raise Invalid("one `caption` per upload")
            caption = (await _read_part(part, CAPTION_MOST * 4)).decode("utf-8", "replace").strip()
        elif part.name == "file":
            if file is not None:  # refused before the second file is read
                raise Invalid("one `file` per upload")
            if _encoded(part):
                raise Invalid(
                    "send the file's bytes as they are (no Content-Transfer-Encoding or Content-Encoding)"
                )
            given = (part.filename or "file")[:1024]
            mime = part.headers.get(hdrs.CONTENT_TYPE, "").split(";")[0].strip().lower()
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(given)[0] or mime
            try:
                kind = sendable_kind(mime)
            except NotSendable as exc:
                return error(415, "unsupported_media_type", str(exc))
            most = most_bytes(kind)
            read = bytearray()
            while chunk := await part.read_chunk(256 * 1024):
                read += chunk
                if len(read) > most:
                    raise BodyRefused(413, "too_large", f"a {kind} can be at most {most // (1024 * 1024)} MB")
            if not is_what_it_says(read, mime):  # an HTML page declared as a PNG
                return error(415, "content_mismatch", f"the file's bytes are not {mime}")
            file = (bytes(read), mime, kind, clean_name(given, mime))
    return file, caption or ""


def _encoded(part: BodyPartReader) -> bool:
    """A file part sent base64, quoted-printable or compressed: its bytes are not the file's."""
    transfer = part.headers.get(hdrs.CONTENT_TRANSFER_ENCODING, "binary").strip().lower()
    return transfer not in ("binary", "8bit", "7bit") or hdrs.CONTENT_ENCODING in part.headers


async def _read_part(part: BodyPartReader, most: int) -> bytes:
    """A small part (the caption): at most `most` bytes kept, however many were sent."""
    read = bytearray()
    while chunk := await part.read_chunk(16 * 1024):
        read += chunk
        if len(read) > most:
            raise BodyRefused(413, "too_large", "the caption is too long")
    return part.decode(bytes(read))  # its Content-Transfer-Encoding, if it has one


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
            502: "WhatsApp did not take the upload (code upload_failed)",
        },
    ),
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
