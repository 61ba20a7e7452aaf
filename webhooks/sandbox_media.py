"""The sandbox's customer media: a photo, a voice note and a document shipped in webhooks/samples/, sent by
the phone simulator and served to the desk as Meta would serve a customer's media."""

from __future__ import annotations

import shutil
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from handover.media import MediaGone, Sink

SAMPLES = Path(__file__).with_name("samples")
# kind -> (media id, WhatsApp type, file in samples/, MIME type); a document is named after its file
KINDS: dict[str, tuple[str, str, str, str]] = {
    "image": ("sandbox-photo", "image", "photo.png", "image/png"),
    "audio": ("sandbox-voice", "audio", "voice.wav", "audio/wav"),
    "document": ("sandbox-receipt", "document", "receipt.pdf", "application/pdf"),
}


def media_message(kind: str, caption: str | None) -> dict[str, Any]:
    """The type-specific part of Meta's message for a sample (`{"type": ..., type: {...}}`)."""
    media_id, wa_type, file, mime = KINDS[kind]
    content: dict[str, Any] = {"id": media_id, "mime_type": mime, "sha256": "0" * 64}
    if wa_type == "audio":
        content["voice"] = True
    if wa_type == "document":
        content["filename"] = file
    if caption and wa_type in ("image", "document"):
        content["caption"] = caption
    return {"type": wa_type, wa_type: content}


class SandboxMedia:
    """What the desk's media route downloads in the sandbox (Meta's Graph API otherwise): the samples, and
    what agents sent, kept as files in `directory` (the newest UPLOADS_KEPT), never in memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.uploads: OrderedDict[str, tuple[Path, str]] = OrderedDict()  # media id -> (file, MIME type)

    async def download(self, media_id: str, sink: Sink) -> str:
        found = next(
            ((SAMPLES / file, mime) for known, _, file, mime in KINDS.values() if known == media_id), None
        )
        found = found or self.uploads.get(media_id)
        if found is None:
            raise MediaGone(media_id)
        path, mime = found
        with path.open("rb") as content:
            while chunk := content.read(256 * 1024):
                sink.write(chunk)
        return mime

    async def upload(self, phone_number_id: str, file: Path, mime_type: str, filename: str) -> str:
        media_id = f"sandbox-upload-{uuid.uuid4().hex[:16]}"
        self.directory.mkdir(parents=True, exist_ok=True)
        kept = self.directory / media_id
        shutil.copyfile(file, kept)
        self.uploads[media_id] = (kept, mime_type)
        while len(self.uploads) > UPLOADS_KEPT:
            _, (gone, _) = self.uploads.popitem(last=False)
            gone.unlink(missing_ok=True)
        return media_id


UPLOADS_KEPT = 50
