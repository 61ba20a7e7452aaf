"""Rendering the rules' messages for one customer: their language, the variables given, nothing failing."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

from handover.rules.model import Rules


def render(template: str, variables: dict[str, Any]) -> str:
    """`template` with each `{name}` replaced by its value, an unknown one by nothing (the loader rejects
    those)."""
    return fill(template, variables, lambda name: "")


def fill(template: str, variables: dict[str, Any], missing: Callable[[str], str]) -> str:
    """Each plain `{name}` of `template` replaced by its value (`missing(name)` when there is none);
    `{{`/`}}` are braces. Nothing else of str.format runs: a format spec, conversion, index or attribute
    (`{wait:x}`, `{position:>5000000}`, `{0}`, refused by `rules check`) is left as written, so a text can
    neither fail a customer's turn nor make a string of any size."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:  # broken braces (refused by `rules check`): the text as written
        return template
    out: list[str] = []
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if is_plain(field, spec, conversion):
            value = variables.get(field)
            out.append(missing(field) if value is None else str(value))
        else:
            out.append(as_written(field, spec, conversion))
    return "".join(out)


def is_plain(field: str, spec: str | None, conversion: str | None) -> bool:
    """A `{name}` placeholder: a name, no format spec, no conversion."""
    return field.isidentifier() and not spec and not conversion


def as_written(field: str, spec: str | None, conversion: str | None) -> str:
    return "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"


def message(rules: Rules, name: str, language: str | None, **variables: Any) -> str | None:
    """`messages.<name>` in the customer's language (else the default one); None if the rules have none."""
    texts = rules.messages.get(name)
    if texts is None:
        return None
    template = texts.get(language or rules.default_language) or texts[rules.default_language]
    return render(template, variables)


# No pattern here begins with a run of blanks: `\s*,` or `[ \t]*\(` retries the run from each of its
# characters, quadratic in its length (a profile name of 100k spaces held a worker 179 s). The blanks
# before a match are stripped by `_sub_after_blanks` instead, in linear time.
_COMMA_BEFORE_END = re.compile(r",\s*([!?.])")
_EMPTY_BRACKETS = re.compile(r"\([ \t]*\)")
_SPACES = re.compile(r"[ \t]{2,}")


def _sub_after_blanks(pattern: re.Pattern[str], replace: str, text: str, blanks: str | None = None) -> str:
    """`pattern.sub(replace, text)` that also removes the blanks (`blanks`, None: any whitespace) just
    before each match, as a leading `[blanks]*` would, in time linear in the text."""
    parts: list[str] = []
    last = 0
    for found in pattern.finditer(text):
        parts += [text[last : found.start()].rstrip(blanks), found.expand(replace)]
        last = found.end()
    return "".join([*parts, text[last:]])


def tidy(text: str) -> str:
    """'Olá, !' -> 'Olá!': a comma left before the end by a blank variable goes, with the blanks around it."""
    return _sub_after_blanks(_COMMA_BEFORE_END, r"\1", text)


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
    return _SPACES.sub(
        " ", _sub_after_blanks(_EMPTY_BRACKETS, "", text, " \t")
    ).strip()  # an older `({reason})`: no empty ()


def canned(rules: Rules, name: str, language: str | None, variables: dict[str, str]) -> str:
    """`canned.<name>` in `language` (else the default one) with what is known filled in; a value not known
    for this conversation (not collected yet) stays `{like_this}` for the agent to fill in."""
    texts = rules.canned[name]
    template = texts.get(language or rules.default_language) or texts[rules.default_language]
    return fill(template, dict(variables), lambda name: "{" + name + "}")
