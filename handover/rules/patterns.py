"""Regular expressions from the rules, run by RE2 in linear time: no customer message can stall a worker.

Python's `re` backtracks, so one ops pattern like `(a+)+$` and one message of forty a's and a b would
spin a worker for minutes (and ignore SIGTERM meanwhile). RE2 guarantees time linear in the text; the
price is that backreferences (`\\1`) and lookarounds (`(?=`, `(?!`, `(?<=`, `(?<!`) do not exist, and `\\w`,
`\\b` are ASCII. Patterns are case-insensitive, like the rest of matching.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

MAX_TEXT = 2000  # characters of a message that matching looks at; WhatsApp allows 4,096 in a text

_UNSUPPORTED = {
    "(?=": "lookahead (?=...)",
    "(?!": "negative lookahead (?!...)",
    "(?<=": "lookbehind (?<=...)",
    "(?<!": "negative lookbehind (?<!...)",
}


def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a bad pattern is reported once, by `rules check`, not on stderr
    return options


_OPTIONS = _options()


class Pattern:
    """One compiled pattern; `search` is linear in the length of the text."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._compiled = re2.compile(source, _OPTIONS)
        except re2.error as exc:
            raise ValueError(explain(source, exc)) from None

    def search(self, text: str) -> bool:
        return self._compiled.search(text) is not None

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"


def explain(source: str, exc: Exception) -> str:
    """RE2's complaint in words ops can act on."""
    detail = exc.args[0] if exc.args else exc
    detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    for operator, name in _UNSUPPORTED.items():
        if detail.endswith(operator):
            return (
                f"bad regular expression {source!r}: {name} is not supported (rules regexes run in "
                "linear time, without lookarounds or backreferences)"
            )
    if "invalid escape sequence: \\" in detail and detail[-1].isdigit():
        return (
            f"bad regular expression {source!r}: backreference {detail.rsplit(' ', 1)[-1]} is not supported "
            "(rules regexes run in linear time, without lookarounds or backreferences)"
        )
    return f"bad regular expression {source!r}: {detail}"


@lru_cache(maxsize=4096)
def pattern(source: str) -> Pattern:
    """The pattern for a rules source, compiled once per process (rules reloads reuse what they can)."""
    return Pattern(source)
