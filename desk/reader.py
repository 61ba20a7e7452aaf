"""`?lang=` on the routes that return a conversation: the packet's summary in the reader's language, made
from the packet at read time (it is stored in the rules' default language)."""

from __future__ import annotations

from aiohttp import web

from desk.models import ConversationDetail
from desk.openapi import Param
from handover.errors import Invalid
from handover.packet import SUMMARY_LANGUAGES, summary_of

LANG_PARAM = Param(
    "lang",
    "the packet's summary in this language (the reader's), else as stored",
    {"type": "string", "enum": list(SUMMARY_LANGUAGES)},
)


def reader_language(request: web.Request) -> str | None:
    """`?lang=`, checked before anything is done (422 for a language the summary is not written in)."""
    language = request.query.get("lang")
    if language is not None and language not in SUMMARY_LANGUAGES:
        raise Invalid(f"lang is one of {', '.join(SUMMARY_LANGUAGES)}")
    return language


def for_reader(language: str | None, detail: ConversationDetail) -> ConversationDetail:
    """The packet's summary in the reader's language (made from the packet), else as stored."""
    if language is not None and detail.packet is not None:
        detail.packet.summary = summary_of(detail.packet, language)
    return detail
