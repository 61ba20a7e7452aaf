"""How long each field of a webhook message may be: Meta's documented sizes, checked at the edge.

Everything after the webhook trusts these bounds (the search index files a number's tails, the bot's
wording runs regular expressions over names, the desk shows captions and file names), so a field past its
bound never gets in: an identifier is refused with its item (cut short, it could name another customer or
message), what a person wrote or is called is cut to its bound, and a media type that is not `type/subtype`
is dropped. The rest of the POST is read as usual.
"""

from __future__ import annotations

import re
from typing import Any

from handover.message import PROFILE_NAME_MAX

WA_ID_MAX = 32  # E.164: at most 15 digits (a wa_id is those digits); room for documented placeholders
USER_ID_MAX = 128  # business-scoped user ids ("BR.1K2..."): tens of characters
ID_MAX = 256  # message, media and context ids (wamid.* are about 60 characters)
NAME_MAX = PROFILE_NAME_MAX  # a profile name or username, after trimming
TEXT_MAX = 4096  # a text message's body (Meta's limit)
CAPTION_MAX = 1024  # a media caption (Meta's limit)
FILENAME_MAX = 240  # a document's file name (the same bound as the files agents send)
MIME_MAX = 127  # RFC 6838: type and subtype of at most 127 characters each; ours whole
STRING_MAX = 16_384  # any other string kept as received in a message's content (addresses, flow replies)

_MIME = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]{0,63}/[\w!#$&^.+-]{1,63}(?: *; *[\w.+-]+=[\w.+\"-]+){0,4}")


class TooLong(ValueError):
    """An identifier past its bound: its item is refused (the reason names the field, never its value)."""


def identifier(name: str, value: Any, most: int) -> Any:
    """`value` unchanged if it is not a string or is within `most` characters; else TooLong."""
    if isinstance(value, str) and len(value) > most:
        raise TooLong(f"{name} longer than {most} characters")
    return value


def clip(value: Any, most: int) -> Any:
    """A string cut to `most` characters (anything else unchanged)."""
    return value[:most] if isinstance(value, str) and len(value) > most else value


def name(value: Any) -> Any:
    """A profile name or username trimmed, then cut to NAME_MAX; an empty one is no name."""
    if not isinstance(value, str):
        return value
    return value.strip()[:NAME_MAX].strip() or None


def mime_type(value: Any) -> str | None:
    """A media type when it reads as `type/subtype` (parameters allowed) within MIME_MAX; else None: a CR or
    LF in it would break the header the desk serves the file with."""
    if isinstance(value, str) and len(value) <= MIME_MAX and _MIME.fullmatch(value):
        return value
    return None


def content(value: Any, most: int = STRING_MAX) -> Any:
    """A message's type-specific object with every string cut to `most` characters (its depth is already
    checked, so this recursion is bounded)."""
    if isinstance(value, str):
        return clip(value, most)
    if isinstance(value, dict):
        return {clip(k, most): content(v, most) for k, v in value.items()}
    if isinstance(value, list):
        return [content(v, most) for v in value]
    return value


def readable(wa_type: str, found: dict[str, Any]) -> dict[str, Any]:
    """What normalize read of a message (text, ids, media type) within the bounds; TooLong for an id."""
    bounded = dict(found)
    for field in ("reply_id", "media_id", "context_id"):
        if field in bounded:
            bounded[field] = identifier(field, bounded[field], ID_MAX)
    if "text" in bounded:
        caption = wa_type in ("image", "video", "document", "audio", "sticker")
        bounded["text"] = clip(bounded["text"], CAPTION_MAX if caption else TEXT_MAX)
    if "mime_type" in bounded:
        bounded["mime_type"] = mime_type(bounded["mime_type"])
    return bounded


def media_content(wa_type: str, found: dict[str, Any]) -> dict[str, Any]:
    """A media object's caption, file name and type within their bounds (the desk shows them as kept)."""
    if wa_type not in ("image", "video", "document", "audio", "sticker"):
        return found
    bounded = dict(found)
    if "caption" in bounded:
        bounded["caption"] = clip(bounded["caption"], CAPTION_MAX)
    if "filename" in bounded:
        bounded["filename"] = clip(bounded["filename"], FILENAME_MAX)
    if "mime_type" in bounded:
        bounded["mime_type"] = mime_type(bounded["mime_type"])
    return bounded
