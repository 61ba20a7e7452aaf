"""An agent's file for the customer, `POST /api/v1/conversations/{id}/media`: the multipart form read
within its limits (hostile forms answered, never 500), the file written to disk as it arrives, checked,
uploaded to WhatsApp from the file, then sent by its media id. At most two uploads per agent at once (429),
and a process-wide budget of upload bytes under way, reserved by the size each declares (503 `busy`)."""

from __future__ import annotations

import asyncio
import binascii
import mimetypes
import zlib
from pathlib import Path

import structlog
from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from desk.http import AGENT, DESK, BodyRefused, error, ok
from desk.models import SentView
from desk.threads import in_thread
from desk.uploads import clean_name, is_what_it_says
from handover.assignment.claims import SentMedia
from handover.errors import Invalid
from handover.media import MediaUnavailable, NotSendable, most_bytes, sendable_kind

log = structlog.get_logger(__name__)

CAPTION_MOST = 1024
FORM_MOST = 16 * 1024 * 1024 + 64 * 1024  # an upload's whole form: the largest file, a caption, the framing
UPLOAD_BYTES_PER_SECOND = 256 * 1024  # the slowest link an upload is waited for, past the body deadline
PARTS_MOST = 8  # parts in an upload's form: a file, a caption, and some slack for what browsers add
SNIFFED = 4096  # the file's first bytes kept in memory to check its type (desk/uploads.py)
# what a malformed form raises from aiohttp's reader or a part's decoding: no boundary, a cut body, bad
# part headers, an unknown charset or transfer encoding, bad base64 or gzip
MALFORMED = (ValueError, LookupError, RuntimeError, binascii.Error, zlib.error, HttpProcessingError)


async def post_media(request: web.Request) -> web.Response:
    """An agent attaches a file: checked against WhatsApp's types and sizes before anything is uploaded,
    written to a file of the spool as it arrives (never whole in memory), uploaded from it, then sent by
    its media id through the outbound worker. The file is removed afterwards, whatever happens."""
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    conversation = await in_thread(ctx.assignments.answerable, agent, conversation_id)
    if not request.content_type.startswith("multipart/"):
        raise Invalid("send the file as multipart/form-data: `file`, and an optional `caption`")
    declared = request.content_length
    if declared is not None and declared > FORM_MOST:
        raise BodyRefused(413, "too_large", f"an upload is at most {FORM_MOST // (1024 * 1024)} MB")
    limits, reserved = ctx.media_limits, declared or FORM_MOST
    if not limits.uploads_per_agent.take(agent.id):
        most = limits.uploads_per_agent.most
        raise BodyRefused(429, "too_many_requests", f"at most {most} uploads at once", limits.retry_after)
    if not limits.upload_bytes.take(reserved):
        limits.uploads_per_agent.give_back(agent.id)
        log.warning("desk_uploads_full", held_bytes=limits.upload_bytes.held, asked_bytes=reserved)
        raise BodyRefused(503, "busy", "too many uploads under way here; retry later", limits.retry_after)
    spooled = ctx.media.upload_path()
    try:
        return await _received_and_sent(request, conversation.phone_number_id, spooled)
    finally:
        spooled.unlink(missing_ok=True)
        limits.upload_bytes.give_back(reserved)
        limits.uploads_per_agent.give_back(agent.id)


async def _received_and_sent(request: web.Request, phone_number_id: str, spooled: Path) -> web.Response:
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    declared = request.content_length
    # the body deadline, and a second more for each 256 KB the form may hold (16 MB: 10 + 65 s)
    deadline = ctx.body_timeout + (declared or FORM_MOST) / UPLOAD_BYTES_PER_SECOND
    try:
        async with asyncio.timeout(deadline):
            read = await _read_form(request, spooled)
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
    if len(caption) > CAPTION_MOST or (caption and file[1] == "audio"):
        raise Invalid(f"a caption has at most {CAPTION_MOST} characters, and a voice message has none")
    mime, kind, name = file
    try:
        media_id = await ctx.media.source.upload(phone_number_id, spooled, mime, name)
    except MediaUnavailable as exc:
        return error(502, "upload_failed", str(exc))
    sent = SentMedia(media_id, kind, mime, name, caption or None)  # type: ignore[arg-type]
    entry_id = await in_thread(ctx.assignments.send_media, agent, conversation_id, sent)
    return ok(SentView(id=entry_id, status="pending"), status=202)


Form = tuple[tuple[str, str, str] | None, str]  # (MIME type, kind, file name), caption


async def _read_form(request: web.Request, spooled: Path) -> Form | web.Response:
    """The upload's parts, each within its size (BodyRefused past it), the file's bytes written to
    `spooled`; a Response for a type not sent."""
    reader = await request.multipart()
    file: tuple[str, str, str] | None = None  # MIME type, kind, file name
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
            head = await _write_part(part, spooled, most_bytes(kind), kind)
            if not is_what_it_says(head, mime):  # an HTML page declared as a PNG
                return error(415, "content_mismatch", f"the file's bytes are not {mime}")
            file = (mime, kind, clean_name(given, mime))
    return file, caption or ""


async def _write_part(part: BodyPartReader, spooled: Path, most: int, kind: str) -> bytes:
    """The file part written to `spooled` chunk by chunk, at most `most` bytes (BodyRefused past it); its
    first bytes, for the check of its type."""
    head, written = bytearray(), 0
    with spooled.open("wb") as file:
        while chunk := await part.read_chunk(256 * 1024):
            written += len(chunk)
            if written > most:
                raise BodyRefused(413, "too_large", f"a {kind} can be at most {most // (1024 * 1024)} MB")
            if len(head) < SNIFFED:
                head += chunk[: SNIFFED - len(head)]
            file.write(chunk)
    return bytes(head)


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
