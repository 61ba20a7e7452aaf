"""Loading a rules file: YAML with positions, validation, cross-references, and errors ops can act on.

Every problem names the file, line, column and key path, e.g.
`rules.yaml:42:7 escalation[2].then.queue: unknown queue 'biling' (known: billing, general)`.
Warnings (`...: warning: no intent handles button 'x'`) name what is likely a mistake but may be meant;
they never refuse a file.
"""

from __future__ import annotations

import copy
import hashlib
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from handover.rules.lexicon import tokens, within_one_edit
from handover.rules.lint import canned_fields, check_warnings
from handover.rules.model import PUSH_SETTINGS, TEMPLATE_PLACEHOLDER, Escalate, Match, Queue, Rules, When
from handover.rules.texts import as_written, is_plain
from handover.rules.yamlfile import (
    AtKey,
    Loc,
    Positions,
    Problem,
    RulesError,
    parse_yaml,
    problem_message,
    read_text,
)

# Every message the code says (rules/bot.py, announce.py, transfers.py) and the variables it is given. A
# name not here is never said: `outside_hour` would leave customers outside hours with nothing.
MESSAGES: dict[str, set[str]] = {
    "unrecognized": {"name"},
    "out_of_scope": {"name"},  # a topic resting on one word among many unknown (else unrecognized)
    "non_text": {"name"},  # an image, audio... that no escalation rule takes
    "location": {"name"},  # a place the customer shared (else non_text)
    "contacts": {"name"},  # a contact card the customer shared (else non_text)
    "queued": {"name", "position", "wait"},
    "outside_hours": {"name", "reopens"},  # the queue's hours say `outside: wait`
    "leave_details": {"name", "reopens"},  # the queue's hours say `outside: leave_details`
    "queue_update": {"position", "wait"},
    "identity_verified": {"name"},
    "identity_retry": {"name"},
    # {reason}: the text of the customer reason the agent picked (transfers.customer_reasons), else nothing
    "transferred": {"to", "reason"},
    "transferred_to_person": {"to", "reason"},  # a warm transfer: {to} is the agent's name
    "agent_changed": {"name"},  # a silent agent's conversation went back to the queue (on_agent_silence)
    "idle_reminder": {"name"},  # the customer stopped answering the agent (customer_idle)
    "idle_closed": {"name"},  # ... and the conversation was closed for it
    "left_queue": {"name"},  # the customer left the queue (an intent with leave_queue)
}
REQUIRED_MESSAGES = ["unrecognized", "queued"]
VERSION_DIGITS = 12  # a rules version is this many hex digits of the file's SHA-256
INTENT_VARIABLES = {"name"}


@dataclass(frozen=True)
class LoadedRules:
    rules: Rules
    version: str  # content hash: recorded on every decision the bot takes
    path: str
    warnings: list[Problem] = field(default_factory=list)  # likely mistakes that do not refuse the file
    text: str = field(default="", repr=False)  # the file as read: the version kept (rules/versions.py)


def content_hash(text: str) -> str:
    """The full SHA-256 of a rules file's text; its first 12 hex digits are the rules version."""
    return hashlib.sha256(text.encode()).hexdigest()


def load_rules(path: str | Path) -> LoadedRules:
    """Read, validate and cross-check a rules file; raise RulesError with every problem found."""
    path = Path(path)
    text = read_text(path)
    loaded = parse_rules(text, str(path))
    identity = loaded.rules.identity
    if identity is not None and identity.directory.file:
        directory = path.parent / identity.directory.file
        if not directory.is_file():
            loc = ("identity", "directory", "file")
            problem = Positions(yaml.compose(text)).problem(path.name, loc, f"no such file: {directory}")
            raise RulesError([problem], loaded.warnings)
    return loaded


def parse_rules(text: str, path: str = "rules.yaml") -> LoadedRules:
    name = Path(path).name
    data, positions = parse_yaml(text, name)
    if not isinstance(data, dict):
        empty = "the file is empty; it" if data is None else "the file"
        raise RulesError(
            [Problem(name, 1, 1, (), f"{empty} must be a mapping (version, intents, queues...)")]
        )
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        found = [(tuple(e["loc"]), problem_message(e)) for e in exc.errors()]
        found += _references_despite(data, exc)
        raise RulesError([positions.problem(name, loc, message) for loc, message in found]) from exc
    problems = [positions.problem(name, loc, message) for loc, message in check_references(rules)]
    warnings = [positions.problem(name, loc, message, warning=True) for loc, message in check_warnings(rules)]
    if problems:
        raise RulesError(problems, warnings)
    version = content_hash(text)[:VERSION_DIGITS]
    return LoadedRules(rules=rules, version=version, path=path, warnings=warnings, text=text)


FOUNDATIONS = {"version", "languages", "default_language"}  # every other check is made against these
NAMED = {
    "intents",
    "escalation",
    "queues",
    "business_hours",
    "customer_tags",
    "messages",
    "templates",
    "canned",
}
_LEFT_OUT = object()


@dataclass
class LeftOut:
    """What a file with schema errors had to leave out so the rest could still be cross-checked: the
    names of broken items (still known to references) and whole sections (their checks skipped)."""

    names: dict[str, set[str]] = field(default_factory=dict)
    sections: set[str] = field(default_factory=set)

    def named(self, section: str) -> set[str]:
        return self.names.get(section, set())


def _references_despite(data: dict[str, Any], error: ValidationError) -> list[tuple[Loc, str]]:
    """The reference problems of a file that also has schema errors: the items with schema errors are left
    out and the rest is checked, so ops see every problem in one pass. Nothing when that is impossible
    (a foundation such as `languages` is broken, or a required section is)."""
    data, left_out = copy.deepcopy(data), LeftOut()
    # where each item of a list section stood in the file, so positions point at the file, not at the rest
    origin = {s: list(range(len(v))) for s, v in data.items() if isinstance(v, list)}
    for _ in range(3):  # leaving an item out can empty a section that must not be empty
        if not all(_leave_out(data, tuple(e["loc"]), left_out) for e in error.errors()):
            return []
        for section in NAMED & origin.keys():
            if isinstance(data.get(section), list):
                kept = [i for i, item in enumerate(data[section]) if item is not _LEFT_OUT]
                origin[section] = [origin[section][i] for i in kept]
                data[section] = [data[section][i] for i in kept]
        try:
            rules = Rules.model_validate(data)
        except ValidationError as again:
            error = again
            continue
        return [(_in_file(loc, origin), message) for loc, message in check_references(rules, left_out)]
    return []


def _in_file(loc: Loc, origin: dict[str, list[int]]) -> Loc:
    if len(loc) > 1 and isinstance(loc[1], int) and str(loc[0]) in origin:
        return (loc[0], origin[str(loc[0])][loc[1]], *loc[2:])
    return loc


def _leave_out(data: dict[str, Any], loc: Loc, left_out: LeftOut) -> bool:
    if not loc or loc[0] in FOUNDATIONS or loc[0] not in data:
        return False
    section = str(loc[0])
    value = data[section]
    if len(loc) == 1 or section not in NAMED:
        del data[section]
        left_out.sections.add(section)
        return True
    item = loc[1]
    if isinstance(value, list) and isinstance(item, int) and 0 <= item < len(value):
        if value[item] is not _LEFT_OUT:
            name = value[item].get("name") if isinstance(value[item], dict) else None
            left_out.names.setdefault(section, set()).add(str(name))
            value[item] = _LEFT_OUT
        return True
    if isinstance(value, dict) and item in value:
        del value[item]
        left_out.names.setdefault(section, set()).add(str(item))
        return True
    return isinstance(value, dict) and str(item) in left_out.named(section)


def check_references(rules: Rules, left_out: LeftOut | None = None) -> Iterator[tuple[Loc, str]]:
    """What pydantic cannot see: names that must exist, languages, variables, WhatsApp's title limits.

    `left_out`: parts of the file that had schema errors (already reported); their names count as known."""
    left_out = left_out or LeftOut()
    languages = set(rules.languages)
    if rules.default_language not in languages:
        yield ("default_language",), f"{rules.default_language!r} is not one of languages {sorted(languages)}"
    known_queues = set(rules.queues) | left_out.named("queues")
    queues = sorted(known_queues)
    intent_names = [i.name for i in rules.intents]
    known_intents = set(intent_names) | left_out.named("intents")
    yield from _duplicates(intent_names, "intents", "intent")
    yield from _duplicates([t.name for t in rules.escalation], "escalation", "trigger")

    def queue_ref(loc: Loc, escalate: Escalate) -> Iterator[tuple[Loc, str]]:
        if escalate.queue not in known_queues:
            yield (*loc, "queue"), f"unknown queue {escalate.queue!r} (known: {', '.join(queues)})"

    for i, intent in enumerate(rules.intents):
        at: Loc = ("intents", i)
        yield from _match_lists(intent.match, (*at, "match"))
        slots = {s.name for s in intent.collect}
        yield from _texts(intent.reply, (*at, "reply"), languages, INTENT_VARIABLES | slots, TEXT_MAX)
        for b, button in enumerate(intent.buttons):
            yield from _texts(button.title, (*at, "buttons", b, "title"), languages, set(), limit=20)
        if intent.choices is not None:
            yield from _texts(intent.choices.button, (*at, "list", "button"), languages, set(), limit=20)
            for r, row in enumerate(intent.choices.rows):
                yield from _texts(row.title, (*at, "list", "rows", r, "title"), languages, set(), limit=24)
                yield from _texts(
                    row.description, (*at, "list", "rows", r, "description"), languages, set(), 72
                )
        for s, slot in enumerate(intent.collect):
            yield from _texts(slot.ask, (*at, "collect", s, "ask"), languages, INTENT_VARIABLES, TEXT_MAX)
            yield from _texts(
                slot.invalid, (*at, "collect", s, "invalid"), languages, INTENT_VARIABLES, TEXT_MAX
            )
        if intent.escalate is not None:
            yield from queue_ref((*at, "escalate"), intent.escalate)
        if intent.requires_identity and rules.identity is None and "identity" not in left_out.sections:
            yield (*at, "requires_identity"), "needs an identity section to verify customers"
    for t, trigger in enumerate(rules.escalation):
        yield from _when_lists(trigger.when, ("escalation", t, "when"))
        yield from queue_ref(("escalation", t, "then"), trigger.then)
        for name in trigger.when.intents or []:
            if name not in known_intents:
                yield ("escalation", t, "when", "intents"), f"unknown intent {name!r}"
        for tag in trigger.when.customer_tags or []:
            if tag not in rules.customer_tags and tag not in left_out.named("customer_tags"):
                yield ("escalation", t, "when", "customer_tags"), f"unknown customer tag {tag!r}"
    for name, queue in rules.queues.items():
        yield from _texts(queue.label, ("queues", name, "label"), languages, set())
        yield from _push_only(queue, ("queues", name))
        hours_known = set(rules.business_hours) | left_out.named("business_hours")
        if queue.business_hours is not None and queue.business_hours not in hours_known:
            known = ", ".join(sorted(rules.business_hours)) or "none defined"
            yield (
                ("queues", name, "business_hours"),
                f"unknown hours {queue.business_hours!r} (known: {known})",
            )
    for name, hours in rules.business_hours.items():
        yield from _timezone(hours.timezone, ("business_hours", name, "timezone"))
    senior = rules.transfers.senior_queue
    if senior is not None and senior not in known_queues:
        yield ("transfers", "senior_queue"), f"unknown queue {senior!r} (known: {', '.join(queues)})"
    if rules.identity is not None:
        for field in rules.identity.fields:
            if field not in rules.identity.ask:
                yield ("identity", "ask"), f"no question for identity field {field!r}"
        for asked, texts in rules.identity.ask.items():
            if asked not in rules.identity.fields:
                yield ("identity", "ask", asked), f"question for {asked!r}, which is not in identity.fields"
            yield from _texts(texts, ("identity", "ask", asked), languages, INTENT_VARIABLES, TEXT_MAX)
        yield from queue_ref(("identity", "failed"), rules.identity.failed)
    for name in REQUIRED_MESSAGES:
        if name not in rules.messages and name not in left_out.named("messages"):
            variables = ", ".join("{" + v + "}" for v in sorted(MESSAGES[name]))
            yield ("messages",), f"missing message {name!r} (may use {variables})"
    for name, texts in rules.messages.items():
        if name not in MESSAGES:
            yield ("messages", name), _unknown_message(name)
            continue
        yield from _texts(texts, ("messages", name), languages, MESSAGES[name], TEXT_MAX)
    for name, texts in rules.canned.items():  # variables nothing fills in are warnings (rules/lint.py)
        fields = {f for text in texts.values() for f in canned_fields(text)}
        yield from _texts(texts, ("canned", name), languages, fields, limit=4096)
    for name, texts in rules.transfers.customer_reasons.items():
        yield from _texts(texts, ("transfers", "customer_reasons", name), languages, set(), limit=300)
    if rules.csat is not None:
        yield from _texts(rules.csat.question, ("csat", "question"), languages, INTENT_VARIABLES)
        yield from _texts(rules.csat.thanks, ("csat", "thanks"), languages, INTENT_VARIABLES)
        for o, option in enumerate(rules.csat.options):
            yield from _texts(option.title, ("csat", "options", o, "title"), languages, set(), limit=20)
    yield from _templates(rules)


def _templates(rules: Rules) -> Iterator[tuple[Loc, str]]:
    languages = set(rules.languages)
    for name, template in rules.templates.items():
        if not re.fullmatch(r"[a-z0-9_]{1,512}", name):
            yield ("templates", name), "a template name is lowercase letters, digits and underscores"
        yield from _texts(template.description, ("templates", name, "description"), languages, set())
        for code, body in template.languages.items():
            at: Loc = ("templates", name, "languages", code)
            if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", code):
                yield at, f"{code!r} is not a WhatsApp language code (e.g. pt_BR, en_US, es)"
            numbers = sorted({int(n) for n in TEMPLATE_PLACEHOLDER.findall(body)})
            if numbers != list(range(1, len(numbers) + 1)):
                yield at, f"placeholders must be {{{{1}}}}, {{{{2}}}}... in order, got {numbers}"


def _push_only(queue: Queue, at: Loc) -> Iterator[tuple[Loc, str]]:
    """Push settings on a pull queue do nothing: most likely `assignment: push` was forgotten."""
    for setting in PUSH_SETTINGS:
        if setting in queue.model_fields_set and not queue.pushes:
            yield (*at, setting), AtKey(f"{setting} is for push queues; add `assignment: push` or remove it")


TEXT_MAX = 4096  # what WhatsApp takes in one text; a variable filled in counts toward it too


def _texts(
    texts: dict[str, str] | None, loc: Loc, languages: set[str], variables: set[str], limit: int | None = None
) -> Iterator[tuple[Loc, str]]:
    if texts is None:
        return
    for missing in sorted(languages - set(texts)):
        yield loc, f"missing the {missing!r} text (every text needs {', '.join(sorted(languages))})"
    for language, text in texts.items():
        if language not in languages:
            yield (*loc, language), f"{language!r} is not one of languages {sorted(languages)}"
            continue
        if limit is not None and len(text) > limit:
            yield (*loc, language), f"{len(text)} characters; WhatsApp allows {limit}"
        try:
            parsed = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            yield (*loc, language), f"bad braces: {exc}"
            continue
        fields = {f for f, spec, conv in parsed if is_plain(f, spec, conv)}
        for name, spec, conversion in parsed:
            if not is_plain(name, spec, conversion):
                yield (
                    (*loc, language),
                    (
                        f"{as_written(name, spec, conversion)[:40]}: only plain {{name}} placeholders are "
                        "filled in (no format, index or conversion); write {{ and }} for braces"
                    ),
                )
        for unknown in sorted(fields - variables):
            known = ", ".join("{" + v + "}" for v in sorted(variables)) or "none"
            yield (*loc, language), f"unknown variable {{{unknown}}} (known here: {known})"


def _match_lists(match: Match, at: Loc) -> Iterator[tuple[Loc, str]]:
    yield from _wordless(match.any, (*at, "any"))
    yield from _wordless(match.all, (*at, "all"))
    if not (match.any or match.all or match.regex or match.buttons):  # the lists given are all empty
        for name in ("any", "all", "regex", "buttons"):
            if name in match.model_fields_set:
                yield (*at, name), "an empty list matches nothing"


def _when_lists(when: When, at: Loc) -> Iterator[tuple[Loc, str]]:
    yield from _wordless(when.keywords or [], (*at, "keywords"))
    # every condition must hold, and an empty list holds for no message
    for name in ("keywords", "media", "intents", "customer_tags"):
        if getattr(when, name) == []:
            yield (*at, name), "an empty list matches nothing: this trigger can never fire"


def _wordless(keywords: list[str], at: Loc) -> Iterator[tuple[Loc, str]]:
    """Keywords that normalise to no words ('!!', '  ', an emoji): matching compares words, so never."""
    for k, keyword in enumerate(keywords):
        if not tokens(keyword):
            yield (*at, k), f"keyword {keyword!r} has no letters or digits: it can never match"


def _unknown_message(name: str) -> AtKey:
    close = [known for known in MESSAGES if within_one_edit(name, known)]
    if close:
        return AtKey(f"unknown message {name!r}; did you mean {close[0]!r}?")
    return AtKey(f"unknown message {name!r} (known: {', '.join(sorted(MESSAGES))})")


def _duplicates(names: list[str], section: str, what: str) -> Iterator[tuple[Loc, str]]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield (section, index, "name"), f"{what} {name!r} is defined twice"
        seen.add(name)


def _timezone(name: str, loc: Loc) -> Iterator[tuple[Loc, str]]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        yield loc, f"unknown time zone {name!r} (e.g. America/Sao_Paulo)"
