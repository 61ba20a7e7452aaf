"""The sandbox's customer media: a photo, a voice note and a document shipped in webhooks/samples/, sent by
the phone simulator and served to the desk as Meta would serve a customer's media."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from handover.media import Media, MediaGone

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
    """What the desk's media route fetches in the sandbox (Meta's Graph API otherwise): the samples, and
    what agents sent, kept in this process (the newest UPLOADS_KEPT)."""

    def __init__(self) -> None:
        self.uploads: OrderedDict[str, Media] = OrderedDict()

    async def fetch(self, media_id: str) -> Media:
        for known, _, file, mime in KINDS.values():
            if known == media_id:
                return Media((SAMPLES / file).read_bytes(), mime)
        if media_id in self.uploads:
            return self.uploads[media_id]
        raise MediaGone(media_id)

    async def upload(self, phone_number_id: str, content: bytes, mime_type: str, filename: str) -> str:
        media_id = f"sandbox-upload-{uuid.uuid4().hex[:16]}"
        self.uploads[media_id] = Media(content, mime_type)
        while len(self.uploads) > UPLOADS_KEPT:
            self.uploads.popitem(last=False)
        return media_id


UPLOADS_KEPT = 50
