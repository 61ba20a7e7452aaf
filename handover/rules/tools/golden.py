"""Golden conversations: customer turns and the bot action expected at each, run against a rules file."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from handover.bot import Action, BotTurn
from handover.conversation import Conversation
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.rules.bot import RuleBot
from handover.rules.directory import RulesDirectory
from handover.rules.loader import LoadedRules, load_rules
from handover.rules.model import Hours, Priority
from handover.rules.tools.replay import take
from handover.rules.turn import QueueView
from handover.rules.waiting import WaitingTurn
from handover.rules.yamlfile import RulesError, Unreadable, load_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpectEscalate(_Strict):
    queue: str | None = None
    reason: str | None = None
    priority: str | None = None


class Expect(_Strict):
    """What must hold after a turn; only what is given is checked."""

    intent: str | None = None
    rule: str | None = None
    identity: str | None = Field(default=None, description="the identity field the bot asks for next")
    ask: str | None = Field(default=None, description="the slot the bot asks for next")
    escalate: ExpectEscalate | None = None
    unrecognized: bool | None = None
    silent: bool | None = None
    verified: bool | None = None
    reply_contains: str | None = None
    redacted: bool | None = None
    language: str | None = Field(default=None, description="the language the bot answers in from now on")
    acknowledged: bool | None = Field(
        default=None, description="taken as an acknowledgement: not a miss, no handover"
    )
    action: Action | None = Field(
        default=None,
        description="what the bot did: reply, ask, identity, escalate, unrecognized, silent, or leave (a "
        "waiting customer left the queue)",
    )
    state: Literal["bot", "queued", "abandoned"] | None = Field(
        default=None,
        description="the conversation's state after the turn: bot, queued (waiting for a person), or "
        "abandoned (the customer left the queue: their next turn starts a new conversation)",
    )


CAPTIONED = ("image", "video", "document")


class Turn(_Strict):
    """One thing the customer sends: text (`say`), a tapped button (`button`, with its title in `say`), or
    media (`media`, with a `caption` for an image, video or document); at `at` if given."""

    say: str | None = None
    button: str | None = None
    media: Literal["audio", "image", "video", "document", "sticker", "location"] | None = None
    caption: str | None = Field(default=None, description="the text under an image, video or document")
    at: AwareDatetime | None = Field(
        default=None,
        description="when the customer sends it, ISO 8601 with its offset (2026-12-05T22:30:00-03:00); "
        "default: the previous turn's time, or the conversation's",
    )
    expect: Expect

    @model_validator(mode="after")
    def _media_says_nothing(self) -> Turn:
        if self.media is not None and (self.say is not None or self.button is not None):
            raise ValueError("a media turn has no say or button: give an image, video or document a caption")
        if self.caption is not None and self.media not in CAPTIONED:
            raise ValueError(f"a caption goes with media: {', '.join(CAPTIONED)}")
        return self


class GoldenCustomer(_Strict):
    name: str = "Cliente"
    wa_id: str = "5511900000000"
    tags: list[str] = Field(
        default_factory=list,
        description="the rules' customer_tags this customer carries (vip), as if listed there",
    )


class GoldenConversation(_Strict):
    name: str
    customer: GoldenCustomer = Field(default_factory=GoldenCustomer)
    at: AwareDatetime | None = None
    turns: list[Turn] = Field(min_length=1)

    @model_validator(mode="after")
    def _time_goes_forward(self) -> GoldenConversation:
        last = self.at
        for index, turn in enumerate(self.turns, start=1):
            if turn.at is not None and last is not None and turn.at < last:
                raise ValueError(f"turn {index}'s at ({turn.at.isoformat()}) is before the time before it")
            last = turn.at or last
        return self

    def starts_at(self, default: AwareDatetime) -> float:
        """The conversation's `at`, else its first turn's, else the file's."""
        return (self.at or self.turns[0].at or default).timestamp()


class GoldenFile(_Strict):
    rules: str | None = Field(default=None, description="rules file, relative to this file")
    at: AwareDatetime = Field(description="the time the conversations happen (business hours depend on it)")
    queue_position: int = 1
    typical_wait_seconds: float | None = Field(
        default=60.0, description="seconds one place in line takes (told: that times position less a half)"
    )
    conversations: list[GoldenConversation]


class _FixedQueues:
    def __init__(self, position: int, typical: float | None) -> None:
        self._position, self._typical = position, typical

    def position(self, number: str, queue: str, priority: Priority, at: float) -> int:
        return self._position

    def typical_wait(
        self,
        number: str,
        queue: str,
        priority: Priority,
        hours: Hours | None,
        now: float,
    ) -> float | None:
        return self._typical


class GoldenFailure(Exception):
    pass


def load_golden(path: Path) -> GoldenFile:
    """The golden file; Unreadable if it is not there, GoldenFailure naming every problem in it."""
    try:
        return load_model(path, GoldenFile)
    except Unreadable:
        raise
    except RulesError as exc:
        raise GoldenFailure(str(exc)) from exc


def run_golden(path: str | Path, rules_path: str | Path | None = None) -> tuple[int, list[str]]:
    """Run every conversation; returns (turns checked, failure reports with diffs)."""
    path = Path(path)
    golden = load_golden(path)
    target = Path(rules_path) if rules_path else (path.parent / golden.rules if golden.rules else None)
    if target is None:
        raise GoldenFailure(f"{path}: no rules file (give one, or `rules:` in the file)")
    try:
        loaded = load_rules(target)
    except Unreadable:
        raise
    except RulesError as exc:
        raise GoldenFailure(str(exc)) from exc
    checked, failures = 0, []
    for conversation in golden.conversations:
        turns, failure = _run_conversation(loaded, golden, conversation)
        checked += turns
        if failure:
            failures.append(failure)
    return checked, failures


def _run_conversation(
    loaded: LoadedRules, golden: GoldenFile, spec: GoldenConversation
) -> tuple[int, str | None]:
    customer = CustomerRef(
        phone_number_id="golden", wa_id=spec.customer.wa_id, profile_name=spec.customer.name
    )
    queues = _FixedQueues(golden.queue_position, golden.typical_wait_seconds)
    start = spec.starts_at(golden.at)
    played = play(loaded, spec.turns, start, customer, queues, tags=spec.customer.tags)
    for index, (turn, actual) in enumerate(played, start=1):
        expected = turn.expect.model_dump(exclude_none=True)
        wrong = [key for key, want in expected.items() if not holds(key, want, actual.get(key))]
        if wrong:
            said = f"{turn.media}" + (f" {turn.caption!r}" if turn.caption else "")
            said = said if turn.media else repr(turn.say or turn.button)
            said += f" at {turn.at.isoformat()}" if turn.at is not None else ""
            diff = difflib.unified_diff(
                _lines(expected),
                _lines({k: actual.get(k) for k in expected}),
                "expected",
                "actual",
                lineterm="",
            )
            return index, f"FAIL {spec.name}, turn {index} ({said}):\n" + "\n".join(diff)
    return len(spec.turns), None


def play(
    loaded: LoadedRules,
    turns: list[Turn],
    now: float,
    customer: CustomerRef,
    queues: QueueView,
    tags: Sequence[str] = (),
) -> Iterator[tuple[Turn, dict[str, Any]]]:
    """Each turn said to a fresh conversation with the bot, with what the bot did (see `observed`). The
    clock starts at `now` and moves to each turn's `at`; the customer carries `tags`. After a handover the
    customer waits: heard only for leaving the queue or asking how long (told `queues`' place and estimate),
    silent otherwise; after leaving, the next turn starts a new conversation (replay.py)."""
    loaded = tagged(loaded, customer, tags)
    clock = [now]
    bot = RuleBot(lambda *_: loaded, queues, RulesDirectory(lambda: loaded), clock=lambda: clock[0])
    conversation = Conversation.start(customer, now)
    for index, turn in enumerate(turns, start=1):
        if turn.at is not None:
            clock[0] = turn.at.timestamp()
        taken = take(bot, conversation, _message(customer, turn, index, clock[0]), clock[0])
        conversation = taken.conversation
        yield turn, observed(conversation, taken.turn or taken.waited, loaded.rules.default_language)


def tagged(loaded: LoadedRules, customer: CustomerRef, tags: Sequence[str]) -> LoadedRules:
    """The rules as if their `customer_tags` listed this customer under each of `tags` (same version: the
    compiled matchers do not read the tags)."""
    if not tags:
        return loaded
    listed = dict(loaded.rules.customer_tags)
    for tag in tags:
        listed[tag] = [*listed.get(tag, []), *([customer.wa_id] if customer.wa_id else [])]
    return dataclasses.replace(loaded, rules=loaded.rules.model_copy(update={"customer_tags": listed}))


def _message(customer: CustomerRef, turn: Turn, index: int, now: float) -> InboundMessage:
    kind = (
        InboundKind(turn.media)
        if turn.media
        else InboundKind.BUTTON_REPLY
        if turn.button
        else InboundKind.TEXT
    )
    return InboundMessage(
        id=f"wamid.golden.{index}",
        customer=customer,
        timestamp=int(now) + index,
        kind=kind,
        wa_type=turn.media or "text",
        text=turn.caption if turn.media else turn.say,
        reply_id=turn.button,
    )


def observed(
    conversation: Conversation, turn: BotTurn | WaitingTurn | None, default_language: str
) -> dict[str, Any]:
    """What the bot did with a turn (its own, or its answer to a waiting customer), in the terms of
    expectations (`Expect`)."""
    language = conversation.bot.language or default_language  # the language it answers in
    state = conversation.state.value
    if turn is None:  # waiting, unheard, or with a person: the bot stays out of it, and nothing is a miss
        return {
            "silent": True,
            "acknowledged": True,
            "action": "silent",
            "state": state,
            "language": language,
        }
    decision = turn.decision
    awaiting = conversation.bot.awaiting
    escalation = turn.escalation if isinstance(turn, BotTurn) else None
    observed: dict[str, Any] = {
        "rule": decision.rule,
        "action": decision.action,
        "state": state,
        "silent": decision.action == "silent",
        "unrecognized": decision.action == "unrecognized",
        "verified": conversation.identity is not None,
        "redacted": isinstance(turn, BotTurn) and turn.redact is not None,
        "reply_contains": " | ".join(r.text or "" for r in turn.replies),
        "language": language,
        # taken in stride: not a miss (it counts toward no unrecognized_in_a_row) and no handover
        "acknowledged": decision.action != "unrecognized" and escalation is None,
    }
    if decision.rule.startswith("intents."):
        observed["intent"] = decision.rule.split(".")[1]
    if awaiting is not None and isinstance(turn, BotTurn):
        observed["identity" if awaiting.kind == "identity" else "ask"] = awaiting.field
    if escalation is not None:
        e = escalation
        observed["escalate"] = {"queue": e.queue, "reason": e.reason, "priority": e.priority}
    return observed


def holds(key: str, want: Any, got: Any) -> bool:
    if key == "reply_contains":
        return isinstance(got, str) and want in got
    if key == "escalate":
        return isinstance(got, dict) and all(got.get(k) == v for k, v in want.items())
    return bool(want == got)


def _lines(data: dict[str, Any]) -> list[str]:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=True).splitlines()
