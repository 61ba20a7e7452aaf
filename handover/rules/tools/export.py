"""Stored conversations turned into a golden conversations file (`handover rules export-golden`): the
customer's turns, masked, each expecting what the rules in force do with it now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis
import yaml

from handover.clock import system_clock
from handover.masking import mask
from handover.message import CustomerRef, InboundKind
from handover.rules.loader import LoadedRules
from handover.rules.tools.golden import GoldenCustomer, GoldenFile, Turn, _FixedQueues, play
from handover.rules.tools.stored import StoredConversation, as_stored, read_conversations

_MEDIA = {"audio", "image", "video", "document", "sticker", "location"}
_TAPS = {InboundKind.BUTTON_REPLY, InboundKind.LIST_REPLY, InboundKind.TEMPLATE_BUTTON}
HEADER = """\
# Golden conversations exported from stored ones by `handover rules export-golden` ({when}).
# Customer texts are masked (digit runs -> #, e-mail addresses -> <email>); identity answers were never
# stored and read "[cpf]"; the customer is a placeholder, so customer tags do not apply.
# Each `expect` is what the rules in force (version {version}) do with the turn NOW, so this file passes
# `handover rules test` as exported: edit the expectations you want the rules to change, then the rules.
# `rules:` is the served rules file relative to the directory the export ran in; give `--rules` otherwise.
"""


class UnknownConversation(Exception):
    """A conversation id that is not stored (or has no customer turns to export)."""


def export_golden(client: redis.Redis, loaded: LoadedRules, ids: list[str], rules_ref: str) -> str:
    """The golden file's text for the stored conversations `ids`, in that order."""
    found = {c.id: c for c in read_conversations(client, ids)}
    for conversation_id in ids:
        if conversation_id not in found:
            raise UnknownConversation(conversation_id)
    conversations = [_conversation(loaded, found[i]) for i in ids]
    data: dict[str, Any] = {
        "rules": rules_ref,
        "at": conversations[0]["at"],
        "conversations": conversations,
    }
    GoldenFile.model_validate(data)  # what we write, `rules test` reads
    when = datetime.fromtimestamp(system_clock(), UTC).isoformat(timespec="seconds")
    header = HEADER.format(when=when, version=loaded.version)
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)


def _conversation(loaded: LoadedRules, stored: StoredConversation) -> dict[str, Any]:
    turns = [t for t in (_turn(m.kind, as_stored(m), m.reply_id) for m in stored.turns) if t is not None]
    if not turns:
        raise UnknownConversation(f"{stored.id} (no customer turn a golden file can hold)")
    at = datetime.fromtimestamp(stored.turns[0].timestamp, UTC)
    customer = GoldenCustomer()
    ref = CustomerRef(phone_number_id="golden", wa_id=customer.wa_id, profile_name=customer.name)
    played = play(loaded, turns, at.timestamp(), ref, _FixedQueues(1, 60.0))  # the golden file's defaults
    return {
        "name": f"conversation {stored.id}",
        "at": at.isoformat(),
        "turns": [_spec(turn) | {"expect": _expect(observed)} for turn, observed in played],
    }


def _turn(kind: InboundKind, text: str | None, reply_id: str | None) -> Turn | None:
    """A stored turn as a golden one; None for kinds a golden file cannot say (reactions, contacts...),
    which the bot takes in silence or as a non-text message anyway."""
    if kind in _TAPS and reply_id:
        spec: dict[str, Any] = {"say": mask(text) if text else None, "button": reply_id}
    elif kind.value in _MEDIA:
        spec = {"media": kind.value}
    elif kind is InboundKind.TEXT and text:
        spec = {"say": mask(text)}
    else:
        return None
    return Turn.model_validate(spec | {"expect": {}})


def _spec(turn: Turn) -> dict[str, Any]:
    return {k: v for k, v in (("say", turn.say), ("button", turn.button), ("media", turn.media)) if v}


def _expect(observed: dict[str, Any]) -> dict[str, Any]:
    """The part of what the bot did worth keeping: the rule, what it asks for, where it hands over;
    silence once a person has the conversation."""
    if "rule" not in observed:
        return {"silent": True}
    expect: dict[str, Any] = {"rule": observed["rule"]}
    for asked in ("identity", "ask", "escalate"):  # what the bot asks for next, where it hands over
        if asked in observed:
            expect[asked] = observed[asked]
    return expect
