"""Likely mistakes in a rules file that do not refuse it: a button nobody handles, a queue nobody sends to,
a keyword another intent always takes first, an intent that can never win, a queue requiring skills its
escalations do not ask for."""

from __future__ import annotations

import string
from collections.abc import Iterator

from handover.rules.lexicon import Lexicon
from handover.rules.model import MatchMode, Rules, When
from handover.rules.yamlfile import AtKey, Loc


def check_warnings(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """What is most likely a mistake but may be meant: the file is still accepted."""
    yield from _unhandled_buttons(rules)
    yield from _unchosen_queues(rules)
    yield from _shadowed_keywords(rules)
    yield from _shadowed_triggers(rules)
    yield from _skills_required_unasked(rules)
    yield from _canned_unfilled(rules)


CANNED_VARIABLES = {"name", "agent"}  # and every value an intent collects


def canned_fields(text: str) -> set[str]:
    """The {variables} of a canned reply (none for a text with broken braces: the loader reports those)."""
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:
        return set()


def _canned_unfilled(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """A canned reply's variable the desk never fills in stays in braces for the agent to type over: meant
    for a tracking code, a mistake for `{nome}`."""
    known = CANNED_VARIABLES | rules.collected_names()
    for name, texts in rules.canned.items():
        for language, text in texts.items():
            for unknown in sorted(canned_fields(text) - known):
                filled = ", ".join("{" + v + "}" for v in sorted(known))
                yield (
                    ("canned", name, language),
                    AtKey(
                        f"{{{unknown}}} is never filled in (the desk fills {filled}): it stays in braces for "
                        "the agent to type over"
                    ),
                )


def _shadowed_keywords(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """A keyword another intent also has and goes first on (it ranks higher, or ties and comes earlier),
    or that a keyword-only trigger fires on before any intent answers: on it alone this intent never wins.
    An intent whose every way in is taken so never wins at all."""
    lexicon = Lexicon(rules.synonyms, rules.languages)
    takers: dict[tuple[str, ...], str] = {}  # phrase (as matched) -> who takes it first
    for t, trigger in enumerate(rules.escalation):
        if _only(trigger.when, "keywords"):
            for keyword in trigger.when.keywords or []:
                takers.setdefault(
                    tuple(lexicon.phrase(keyword)), f"escalation[{t}] ({trigger.name}) fires first"
                )
    # while the customer waits, only the intents heard then (leave_queue, queue_status) compete, and no
    # trigger fires: what the bot takes first with it still reaches them (handover/rules/waiting.py)
    waiting_takers: dict[tuple[str, ...], str] = {}
    order = sorted(range(len(rules.intents)), key=lambda i: (rules.intents[i].rank, i))
    for i in order:
        intent = rules.intents[i]
        heard_waiting = intent.leave_queue or intent.queue_status
        competing = waiting_takers if heard_waiting else takers
        mine = [(k, tuple(lexicon.phrase(keyword))) for k, keyword in enumerate(intent.match.any)]
        taken = [(k, words, competing[words]) for k, words in mine if words and words in competing]
        other_ways = intent.match.all or intent.match.regex or intent.match.buttons
        if mine and len(taken) == len(mine) and not other_ways:
            first = taken[0][2]
            yield ("intents", i, "name"), f"this intent can never win: every keyword is taken first ({first})"
        else:
            for k, _, taker in taken:
                yield (
                    ("intents", i, "match", "any", k),
                    f"keyword {intent.match.any[k]!r} never wins here: {taker}",
                )
        for words in (w for _, w in mine if w):
            takers.setdefault(words, f"intents[{i}] ({intent.name}) goes first")
            if heard_waiting:
                waiting_takers.setdefault(words, f"intents[{i}] ({intent.name}) goes first")


def _shadowed_triggers(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """Triggers are tried in file order and the first that holds fires: a keyword-only trigger's keyword
    an earlier keyword-only trigger has, or an `unrecognized_in_a_row` an earlier one reaches first."""
    lexicon = Lexicon(rules.synonyms, rules.languages)
    earlier: dict[tuple[str, ...], str] = {}
    fewest_misses: tuple[int, str] | None = None
    for t, trigger in enumerate(rules.escalation):
        when = trigger.when
        if _only(when, "keywords"):
            for k, keyword in enumerate(when.keywords or []):
                words = tuple(lexicon.phrase(keyword))
                if words in earlier:
                    message = f"keyword {keyword!r} never fires this trigger: {earlier[words]} has it first"
                    yield ("escalation", t, "when", "keywords", k), message
                earlier.setdefault(words, f"escalation[{t}] ({trigger.name})")
        if _only(when, "unrecognized_in_a_row") and when.unrecognized_in_a_row is not None:
            if fewest_misses is not None and fewest_misses[0] <= when.unrecognized_in_a_row:
                yield (
                    ("escalation", t, "when", "unrecognized_in_a_row"),
                    f"this trigger never fires: {fewest_misses[1]} fires at {fewest_misses[0]} misses first",
                )
            elif fewest_misses is None:
                fewest_misses = (when.unrecognized_in_a_row, f"escalation[{t}] ({trigger.name})")


def _only(when: When, condition: str) -> bool:
    """The trigger's one condition is this one."""
    given = {name for name, value in when.model_dump(exclude_none=True).items() if value is not None}
    return given == {condition}


def _unhandled_buttons(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """Buttons and list rows no intent lists in `match.buttons`: a customer who taps one gets whatever its
    title happens to match as text, often 'sorry, I didn't get that'. (CSAT options are the survey's.)"""
    handled = {button for intent in rules.intents for button in intent.match.buttons}
    for i, intent in enumerate(rules.intents):
        rows = intent.choices.rows if intent.choices is not None else []
        offered: list[tuple[Loc, str, str]] = [
            (("buttons", b), "button", x.id) for b, x in enumerate(intent.buttons)
        ]
        offered += [(("list", "rows", r), "list row", x.id) for r, x in enumerate(rows)]
        for where, what, id_ in offered:
            if id_ not in handled:
                yield ("intents", i, *where, "id"), f"no intent handles {what} {id_!r} (match.buttons)"


def _unchosen_queues(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """Queues the bot never sends a conversation to; agents may still transfer one there by hand."""
    chosen = {intent.escalate.queue for intent in rules.intents if intent.escalate is not None}
    chosen |= {trigger.then.queue for trigger in rules.escalation}
    if rules.identity is not None:
        chosen.add(rules.identity.failed.queue)
    if rules.transfers.senior_queue is not None:  # the senior lane: repeated transfers go there by rule
        chosen.add(rules.transfers.senior_queue)
    for name in rules.queues:
        if name not in chosen:
            yield ("queues", name), AtKey(f"queue {name!r} is never chosen by the bot (only by transfers)")


def _skills_required_unasked(rules: Rules) -> Iterator[tuple[Loc, str]]:
    """A push queue that requires skills, reached by escalations that ask for none: those conversations go
    to any agent of the queue, which is likely not what `skills: required` meant."""
    sends = rules.escalates()
    for name, queue in rules.queues.items():
        if not queue.pushes or queue.match.skills is not MatchMode.REQUIRED:
            continue
        unasked = [rule for rule, escalate in sends if escalate.queue == name and not escalate.skills]
        if unasked:
            yield (
                ("queues", name, "match", "skills"),
                f"skills are required, but escalations here ask for none ({', '.join(unasked)}): any agent "
                "of the queue takes their conversations",
            )
