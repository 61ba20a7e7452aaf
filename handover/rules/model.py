"""The rules file's format: pydantic models with unknown keys forbidden (ops owns the YAML, we own this)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from handover.rules import patterns
from handover.rules.fields import NAME_PATTERN as NAME_PATTERN
from handover.rules.fields import Name as Name
from handover.rules.fields import Strict as _Strict
from handover.rules.fields import Texts as Texts

# a queue's settings live in handover/rules/queue.py; re-exported here with the rest of the format
from handover.rules.queue import PUSH_SETTINGS as PUSH_SETTINGS
from handover.rules.queue import AgentSilence as AgentSilence
from handover.rules.queue import Assignment as Assignment
from handover.rules.queue import CustomerIdle as CustomerIdle
from handover.rules.queue import MatchMode as MatchMode
from handover.rules.queue import Policy as Policy
from handover.rules.queue import Queue as Queue
from handover.rules.queue import QueueMatch as QueueMatch


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def weight(self) -> int:
        return {"low": 0, "normal": 1, "high": 2, "urgent": 3}[self.value]


class Match(_Strict):
    """When an intent applies. Any one of the lists may match; text is compared without case or accents."""

    any: list[str] = Field(default_factory=list, description="keywords or phrases; one is enough")
    all: list[str] = Field(default_factory=list, description="keywords or phrases that must all appear")
    regex: list[str] = Field(
        default_factory=list,
        description="regular expressions (RE2, case-insensitive), tried on the message as typed and on its "
        "normalised form (lowercase, no accents, punctuation as spaces)",
    )
    buttons: list[str] = Field(default_factory=list, description="ids of reply buttons or list rows")
    typos: bool = Field(default=True, description="tolerate one typo in words of 5 letters or more")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, sources: list[str]) -> list[str]:
        for source in sources:
            patterns.pattern(source)  # a ValueError naming what RE2 cannot run
        return sources

    @model_validator(mode="after")
    def _something(self) -> Match:
        given = self.model_fields_set & {"any", "all", "regex", "buttons"}
        # a list given empty (`any: []`) is named by the loader, at the list itself
        if not (self.any or self.all or self.regex or self.buttons) and not given:
            raise ValueError("give at least one of any, all, regex, buttons")
        return self


class ButtonSpec(_Strict):
    id: str = Field(min_length=1, max_length=256)
    title: Texts


class RowSpec(_Strict):
    id: str = Field(min_length=1, max_length=200)
    title: Texts
    description: Texts | None = None


class ListSpec(_Strict):
    button: Texts
    rows: list[RowSpec] = Field(min_length=1, max_length=10)


class Slot(_Strict):
    """A value the bot asks for, checks and keeps (e.g. an order number)."""

    name: Name
    ask: Texts
    pattern: str | None = Field(
        default=None, description="regular expression (RE2, case-insensitive) the answer as typed must match"
    )
    invalid: Texts | None = Field(default=None, description="said when the answer does not match")
    attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            patterns.pattern(pattern)
        return pattern


class Escalate(_Strict):
    queue: Name
    reason: Name
    priority: Priority = Priority.NORMAL
    skills: list[Name] = Field(
        default_factory=list,
        description="what the agent should know (agents' --skills); push queues match on it",
    )


class Intent(_Strict):
    name: Name
    match: Match
    reply: Texts | None = None
    buttons: list[ButtonSpec] = Field(default_factory=list, max_length=3)
    choices: ListSpec | None = Field(default=None, alias="list")  # `list` would shadow the builtin here
    collect: list[Slot] = Field(default_factory=list)
    requires_identity: bool = False
    escalate: Escalate | None = None
    weak: bool = Field(default=False, description="answer only when no other intent matches (small talk)")
    leave_queue: bool = Field(
        default=False,
        description="while the customer waits for a person (queued or offered): the wait ends (abandoned, "
        "reason customer_left) and they are told messages.left_queue; with the bot, only its reply if any",
    )
    queue_status: bool = Field(
        default=False,
        description="while the customer waits for a person: answered with their position and the estimate "
        "(messages.queue_update), the wait goes on; with the bot, only its reply if any",
    )

    @property
    def hands_over_now(self) -> bool:
        """It escalates as soon as it matches: nothing to ask, no identity to check (a person, please)."""
        return self.escalate is not None and not self.collect and not self.requires_identity

    @property
    def rank(self) -> int:
        """Which intents go first when several match equally: handing over, then topics, then small talk."""
        return 0 if self.hands_over_now else 2 if self.weak else 1

    @model_validator(mode="after")
    def _does_something(self) -> Intent:
        if not (self.reply or self.escalate or self.leave_queue or self.queue_status):
            raise ValueError("an intent needs a reply, an escalate, leave_queue or queue_status")
        if self.escalate and (self.leave_queue or self.queue_status):
            raise ValueError("an intent that escalates cannot also leave_queue or answer queue_status")
        if self.leave_queue and self.queue_status:
            raise ValueError("use leave_queue or queue_status, not both")
        if (self.buttons or self.choices) and not self.reply:
            raise ValueError("buttons and lists need a reply text to go with them")
        if self.buttons and self.choices:
            raise ValueError("use buttons or a list, not both")
        return self


MediaKind = Literal["audio", "image", "video", "document", "sticker", "location", "contacts", "unknown"]


class When(_Strict):
    """Conditions of an escalation trigger; all those given must hold."""

    unrecognized_in_a_row: int | None = Field(default=None, ge=1)
    keywords: list[str] | None = None
    media: list[MediaKind] | None = None
    intents: list[Name] | None = None
    customer_tags: list[Name] | None = None
    bot_turns_over: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _something(self) -> When:
        if not self.model_dump(exclude_none=True):
            raise ValueError("a trigger needs at least one condition")
        return self


class Trigger(_Strict):
    name: Name
    when: When
    then: Escalate


class Transfers(_Strict):
    max_per_conversation: int = Field(default=3, ge=1)
    senior_lane_after: int = Field(default=2, ge=1)
    senior_queue: Name | None = None
    warm_timeout_seconds: int = Field(default=120, ge=10, le=3600)
    # what an agent may choose to tell the customer about why they move (name -> text per language); the
    # agent's own free-text reason stays internal and is never sent
    customer_reasons: dict[Name, dict[str, str]] = Field(default_factory=dict)


_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "mon-fri", "mon-sat", "sat-sun"]


class Hours(_Strict):
    """Opening hours in a time zone; days not listed are closed. A span past midnight (`fri: "22:00-06:00"`)
    opens on the day it is listed under and closes the next morning."""

    timezone: str = "America/Sao_Paulo"
    days: dict[Day, str]
    outside: Literal["wait", "leave_details"] = "wait"

    @field_validator("days")
    @classmethod
    def _ranges(cls, days: dict[str, str]) -> dict[str, str]:
        for day, span in days.items():
            if not _HOURS.match(span):
                raise ValueError(f"{day}: {span!r} is not HH:MM-HH:MM")
            start, end = span.split("-")
            if start == end:  # not read as "all day": it could as well be a slip for 08:00-18:00
                whole_day = "for the whole day write 00:00-24:00"
                raise ValueError(f"{day}: {span!r} never opens (it closes when it opens); {whole_day}")
        return days


class Directory(_Strict):
    """Where identities are checked: a YAML/CSV file of customers, or an HTTP verifier."""

    file: str | None = None
    url: str | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)

    @model_validator(mode="after")
    def _one(self) -> Directory:
        if bool(self.file) == bool(self.url):
            raise ValueError("give exactly one of file or url")
        return self


IdentityField = Literal["cpf", "birth_date", "account_number", "zip_code", "email"]


class Identity(_Strict):
    fields: list[IdentityField] = Field(min_length=1)
    ask: dict[str, Texts]  # one question per field
    directory: Directory
    attempts: int = Field(default=3, ge=1, le=10)
    ttl_seconds: int = Field(default=24 * 3600, ge=60)
    failed: Escalate


class CsatOption(_Strict):
    id: str = Field(min_length=1, max_length=256)
    title: Texts
    score: int = Field(ge=1, le=5)


class Csat(_Strict):
    """The satisfaction survey sent when an agent resolves a conversation (reply buttons)."""

    question: Texts
    options: list[CsatOption] = Field(min_length=1, max_length=3)
    thanks: Texts
    on_idle_close: bool = Field(
        default=False, description="also ask when a conversation is closed because the customer went quiet"
    )


class KpiSettings(_Strict):
    """How the support KPIs are computed (docs/operations.md, "KPIs")."""

    fcr_days: int = Field(
        default=7,
        ge=1,
        le=30,
        description="a resolved conversation is first-contact resolved if its customer does not come back "
        "within this many days (a reopen within reopen_within_seconds never is)",
    )


TEMPLATE_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


class Template(_Strict):
    """A message template approved at Meta: what agents may send once the 24-hour window has closed.

    The body is Meta's approved text per language code (e.g. pt_BR), with {{1}}, {{2}}... placeholders;
    it is what the agent previews and what the transcript shows."""

    description: Texts | None = Field(default=None, description="what it is for, as agents read it")
    languages: dict[str, str] = Field(min_length=1, description="Meta language code -> approved body text")

    def params(self, language: str) -> int:
        """How many parameters the body takes: its highest {{n}}."""
        return max((int(n) for n in TEMPLATE_PLACEHOLDER.findall(self.languages[language])), default=0)

    def render(self, language: str, params: list[str]) -> str:
        return TEMPLATE_PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], self.languages[language])


# Said only to acknowledge; ops can replace the list (or empty it) with `acknowledgements:`.
DEFAULT_ACKNOWLEDGEMENTS = (
    *("ok", "okay", "okk", "blz", "beleza", "certo", "entendi", "entendido", "ta", "ta bom", "ta certo"),
    *("ah ta", "aham", "uhum", "show", "perfeito", "otimo", "combinado", "fechado", "joia", "massa", "top"),
    *("alright", "all right", "got it", "cool", "great", "fine", "noted", "understood", "perfect"),
    *("vale", "de acuerdo", "entiendo", "perfecto"),
    *("👍", "👌", "🙏", "🙂", "😊", "😉", "✅", "✔", "👏", "🤝", "❤", "😀", "😁", "🥰", "💯", "🆗"),
)


class OutOfScope(_Strict):
    """When a message whose topic rests on one word is out of the rules' scope (rules/scope.py)."""

    words: int = Field(
        default=4,
        ge=0,
        description="content words a message needs besides the one that matched before it can be out of "
        "scope (0: never out of scope)",
    )
    known_share: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="out of scope when the rules know less than this share of those words",
    )


class Rules(_Strict):
    """A whole rules file."""

    version: Literal[1]
    languages: list[str] = Field(default_factory=lambda: ["pt", "en"], min_length=1)
    default_language: str = "pt"
    synonyms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="word -> the ways customers say it, applied to messages and keywords before matching "
        "(e.g. pessoa: [humano, atendente, alguem])",
    )
    acknowledgements: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ACKNOWLEDGEMENTS),
        description="words, phrases and emoji that only acknowledge ('ok', 'blz', '👍'): a message of "
        "nothing else is taken in silence, never as a miss",
    )
    intents: list[Intent] = Field(default_factory=list)
    escalation: list[Trigger] = Field(default_factory=list)
    queues: dict[Name, Queue] = Field(min_length=1)
    transfers: Transfers = Field(default_factory=Transfers)
    business_hours: dict[Name, Hours] = Field(default_factory=dict)
    identity: Identity | None = None
    customer_tags: dict[Name, list[str]] = Field(
        default_factory=dict, description="tag -> customer wa_ids or user_ids (e.g. vip)"
    )
    messages: dict[Name, Texts]
    csat: Csat | None = None
    templates: dict[str, Template] = Field(
        default_factory=dict,
        description="approved message templates agents may send (name at Meta -> bodies)",
    )
    canned: dict[Name, Texts] = Field(
        default_factory=dict,
        description="replies agents insert with / in the console, to edit before sending: name -> text per "
        "language, with {name} (the customer), {agent} (the agent) and values the bot collected "
        "({order_number})",
    )
    kpis: KpiSettings = Field(default_factory=KpiSettings)
    out_of_scope: OutOfScope = Field(
        default_factory=OutOfScope,
        description="a message whose topic rests on one word among many the rules do not know is "
        "answered messages.out_of_scope (else messages.unrecognized) instead of starting a flow",
    )
    reopen_within_seconds: int = Field(
        default=1800,
        ge=0,
        description="a customer writing again this soon after a resolve goes back to "
        "the same agent if available, else to the queue with the old packet; later, a new conversation",
    )

    def collected_names(self) -> set[str]:
        """Every value some intent collects: what a canned reply may name besides {name} and {agent}."""
        return {slot.name for intent in self.intents for slot in intent.collect}

    def escalates(self) -> list[tuple[str, Escalate]]:
        """Every way the bot hands over, with the rule it belongs to (`intents.x`, `escalation.y`,
        `identity.failed`)."""
        found = [(f"intents.{i.name}", i.escalate) for i in self.intents if i.escalate is not None]
        found += [(f"escalation.{t.name}", t.then) for t in self.escalation]
        if self.identity is not None:
            found.append(("identity.failed", self.identity.failed))
        return found
