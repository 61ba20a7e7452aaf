"""Rendering the rules' messages for one customer: their language, the variables given, nothing failing."""

from __future__ import annotations

import string
from typing import Any

from handover.rules.model import Rules


class _Blank(dict[str, Any]):
    """Unknown variables read as empty rather than failing a customer's turn (the loader rejects them)."""

    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, variables: dict[str, Any]) -> str:
    return string.Formatter().vformat(template, (), _Blank(variables))


def message(rules: Rules, name: str, language: str | None, **variables: Any) -> str | None:
    """`messages.<name>` in the customer's language (else the default one); None if the rules have none."""
    texts = rules.messages.get(name)
    if texts is None:
        return None
    template = texts.get(language or rules.default_language) or texts[rules.default_language]
    return render(template, variables)
