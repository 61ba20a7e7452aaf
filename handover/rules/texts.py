"""Rendering the rules' messages for one customer: their language, the variables given, nothing failing."""

from __future__ import annotations

import re
import string
from typing import Any

from handover.rules.model import Rules


class _Blank(dict[str, Any]):
    """Unknown variables read as empty rather than failing a customer's turn (the loader rejects them)."""

    def __missing__(self, key: str) -> str:
        return ""


class _Kept(dict[str, Any]):
    """Unknown variables stay as written, for the person editing the text to fill in."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, variables: dict[str, Any]) -> str:
    return string.Formatter().vformat(template, (), _Blank(variables))


def message(rules: Rules, name: str, language: str | None, **variables: Any) -> str | None:
    """`messages.<name>` in the customer's language (else the default one); None if the rules have none."""
    texts = rules.messages.get(name)
    if texts is None:
        return None
    template = texts.get(language or rules.default_language) or texts[rules.default_language]
    return render(template, variables)


_EMPTY_BRACKETS = re.compile(r"[ \t]*\([ \t]*\)")
_SPACES = re.compile(r"[ \t]{2,}")


def transferred(
    rules: Rules, language: str | None, to: str, customer_reason: str | None, *, person: bool = False
) -> str | None:
    """What a moved customer is told: `messages.transferred` (`transferred_to_person` when `to` is an
    agent's name, if the rules have it) with `{reason}` the text of the customer reason the agent picked
    from `transfers.customer_reasons`, or nothing: the agent's own reason is never said."""
    name = "transferred_to_person" if person and "transferred_to_person" in rules.messages else "transferred"
    language = language or rules.default_language
    texts = rules.transfers.customer_reasons.get(customer_reason or "", {})
    said = texts.get(language) or texts.get(rules.default_language, "")
    text = message(rules, name, language, to=to, reason=said)
    if text is None or said:
        return text
    return _SPACES.sub(" ", _EMPTY_BRACKETS.sub("", text)).strip()  # an older `({reason})`: no empty ()


def canned(rules: Rules, name: str, language: str | None, variables: dict[str, str]) -> str:
    """`canned.<name>` in `language` (else the default one) with what is known filled in; a value not known
    for this conversation (not collected yet) stays `{like_this}` for the agent to fill in."""
    texts = rules.canned[name]
    template = texts.get(language or rules.default_language) or texts[rules.default_language]
    return string.Formatter().vformat(template, (), _Kept(variables))
