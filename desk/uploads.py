"""What an agent's upload really is: its bytes must be of the type it declares (an HTML page declared as a
PNG is refused), and its file name is cleaned before a customer sees it (no bidi overrides making
`fatura` U+202E `fdp.exe` read as `fatura.exe.pdf`, no control characters or paths, a bounded length, and an
extension that says its type)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

NAME_MOST = 120  # characters of a cleaned file name, its extension included
_UNSAFE = set('/\\:*?"<>|;')  # paths, and what breaks a quoted header parameter or a Windows name
_DROPPED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, bidi and zero-width marks, unassigned
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .xls, .ppt
_ZIP = b"PK\x03\x04"  # .docx, .xlsx, .pptx
_MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe")

# each type WhatsApp takes (handover/media.py SENDABLE): its extensions, the first the one added
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "audio/aac": (".aac",),
    "audio/amr": (".amr",),
    "audio/mpeg": (".mp3",),
    "audio/mp4": (".m4a", ".mp4"),
    "audio/ogg": (".ogg", ".opus", ".oga"),
    "video/mp4": (".mp4", ".m4v"),
    "video/3gpp": (".3gp", ".3gpp"),
    "application/pdf": (".pdf",),
    "text/plain": (".txt", ".text", ".log", ".csv"),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.ms-powerpoint": (".ppt",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
}


def _mp3(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _aac(head: bytes) -> bool:  # ADTS frames (12 sync bits, layer 0) or an ADIF header
    return head.startswith(b"ADIF") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0)


def _iso_media(head: bytes) -> bool:  # MP4, M4A, 3GPP: an ISO base media file opens with its ftyp box
    return head[4:8] == b"ftyp"


def _text(head: bytes) -> bool:  # no NUL byte, and not a page a browser would run
    return b"\x00" not in head and not head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_MARKUP)


MATCHES: dict[str, Callable[[bytes], bool]] = {
    "image/jpeg": lambda h: h.startswith(b"\xff\xd8\xff"),
    "image/png": lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"),
    "audio/aac": _aac,
    "audio/amr": lambda h: h.startswith(b"#!AMR"),
    "audio/mpeg": _mp3,
    "audio/mp4": _iso_media,
    "audio/ogg": lambda h: h.startswith(b"OggS"),
    "video/mp4": _iso_media,
    "video/3gpp": _iso_media,
    "application/pdf": lambda h: h.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-"),
    "text/plain": _text,
    "application/msword": lambda h: h.startswith(_OLE2),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": lambda h: h.startswith(_ZIP),
    "application/vnd.ms-excel": lambda h: h.startswith(_OLE2),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": lambda h: h.startswith(_ZIP),
    "application/vnd.ms-powerpoint": lambda h: h.startswith(_OLE2),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": lambda h: h.startswith(_ZIP),
}


def is_what_it_says(content: bytes | bytearray, mime: str) -> bool:
    """Do the file's first bytes (magic numbers) match the type it declares? False for a type not known."""
    match = MATCHES.get(mime)
    return match is not None and match(bytes(content[:4096]))


def clean_name(name: str, mime: str) -> str:
    """A file name safe to show and save: printable characters only (bidi overrides, zero-width and control
    characters dropped), no path, at most NAME_MOST characters, ending in an extension of its type."""
    shown = "".join(
        "_" if c in _UNSAFE else c
        for c in unicodedata.normalize("NFC", name)
        if unicodedata.category(c) not in _DROPPED
    )
    shown = " ".join(shown.split()).strip(" ._") or "file"  # no hidden (".x") or trailing-dot names
    extensions = EXTENSIONS.get(mime, ())
    stem, dot, ext = shown.rpartition(".")
    if dot and f".{ext.lower()}" in extensions:
        stem, ext = stem.rstrip(" ._") or "file", f".{ext.lower()}"
    else:  # no extension, or one of another type ("fatura.exe" as a PDF): the type's own, added
        stem, ext = shown, (extensions[0] if extensions else "")
    return stem[: NAME_MOST - len(ext)].rstrip(" ._") + ext
