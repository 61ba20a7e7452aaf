"""What one bot turn works with: the message kinds, the compiled rules, the queue view, wait estimates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from handover.bot import Action, Decision
from handover.conversation import Conversation
from handover.message import InboundKind, InboundMessage
from handover.rules.lexicon import Lexicon, View, emoji
from handover.rules.loader import LoadedRules
from handover.rules.matching import Hit, IntentIndex, Phrase
from handover.rules.model import Hours, Intent, Priority, Rules, When
from handover.waits import expected_seconds

MEDIA = {
    InboundKind.AUDIO: "audio",
    InboundKind.IMAGE: "image",
    InboundKind.VIDEO: "video",
    InboundKind.DOCUMENT: "document",
    InboundKind.STICKER: "sticker",
    InboundKind.LOCATION: "location",
    InboundKind.CONTACTS: "contacts",
    InboundKind.UNKNOWN: "unknown",
    InboundKind.UNSUPPORTED: "unknown",
}
READ = {InboundKind.TEXT, InboundKind.BUTTON_REPLY, InboundKind.LIST_REPLY, InboundKind.TEMPLATE_BUTTON}
SILENT = {
    InboundKind.REACTION,
    InboundKind.REVOKE,
    InboundKind.EDIT,
    InboundKind.SYSTEM,
    InboundKind.REQUEST_WELCOME,
}


class QueueView(Protocol):
    """What the bot needs to know of the queues to tell a customer where they stand: in the queue of their
    own business number (`number`, the conversation's phone_number_id)."""

    def position(self, number: str, queue: str, priority: Priority, at: float) -> int: ...

    def typical_wait(
        self,
        number: str,
        queue: str,
        priority: Priority,
        hours: Hours | None,
        now: float,
    ) -> float | None:
        """Seconds one place in line takes at `now` (the turn's time, read once by the caller), from recent
        waits of `priority` inside `hours` (None: unknown)."""
        ...


class Compiled:
    """Matchers built once per rules version: one lexicon (synonyms, word forms, typos) for intents,
    triggers and acknowledgements alike."""

    def __init__(self, rules: Rules) -> None:
        self.lexicon = Lexicon(rules.synonyms, rules.languages)
        self.intents = rules.intents
        self.index = IntentIndex([intent.match for intent in rules.intents], self.lexicon)
        self.by_name = {intent.name: intent for intent in rules.intents}
        self.keywords = [
            [Phrase(k, self.lexicon, typos=False, negatable=True) for k in t.when.keywords or []]
            for t in rules.escalation
        ]
        self.acknowledgements = [Phrase(a, self.lexicon, typos=False) for a in rules.acknowledgements]
        self.acknowledging_emoji = set().union(*(emoji(a) for a in rules.acknowledgements))

    def ranked(self, message: InboundMessage, view: View | None = None) -> list[tuple[Intent, Hit]]:
        """Every intent the message meets, best first. An intent that hands over at once (a person,
        please) first; weak intents (small talk) only after every other, so "oi, cadê meu pedido?" is
        about the order; within a rank, the best score (the sort is stable)."""
        ranked = self.index.ranked(message.text, message.reply_id, view)
        ordered = sorted(ranked, key=lambda item: self.intents[item[0]].rank)
        return [(self.intents[index], hit) for index, hit in ordered]

    def best(
        self, message: InboundMessage, view: View | None = None
    ) -> tuple[Intent | None, Hit | None, str | None]:
        """The best intent for a message, its hit and the runner-up ('returns (11)')."""
        ordered = self.ranked(message, view)
        if not ordered:
            return None, None, None
        (first, hit), *rest = ordered
        runner_up = f"{rest[0][0].name} ({rest[0][1].score})" if rest else None
        return first, hit, runner_up

    def acknowledges(self, text: str | None, view: View | None = None) -> bool:
        """Nothing but acknowledgements ('ok', 'blz, valeu', '👍'): no question to answer, no miss."""
        if not text:
            return False
        view = view or self.lexicon.view(text)
        covered = [False] * len(view.words)
        for phrase in self.acknowledgements:
            for start in range(len(view.words) - len(phrase.words) + 1 if phrase.words else 0):
                if phrase.at(view, start):
                    covered[start : start + len(phrase.words)] = [True] * len(phrase.words)
        pictographs = emoji(text)
        if not all(covered) or not pictographs <= self.acknowledging_emoji:
            return False
        return bool(view.words) or bool(pictographs)


@dataclass
class Turn:
    loaded: LoadedRules
    conversation: Conversation
    message: InboundMessage
    language: str
    now: float
    score: int | None = None  # of the intent that won, and the one that came next
    runner_up: str | None = None

    @property
    def rules(self) -> Rules:
        return self.loaded.rules

    def decision(self, action: Action, rule: str, how: str | None = None) -> Decision:
        return Decision(
            message_id=self.message.id,
            action=action,
            rule=rule,
            how=how,
            score=self.score if rule.startswith("intents.") else None,
            runner_up=self.runner_up if rule.startswith("intents.") else None,
            rules_version=self.loaded.version,
            at=self.now,
        )


def trigger_how(when: When, hit: Hit | None) -> str:
    parts = [k for k, v in when.model_dump(exclude_none=True).items() if v is not None]
    return ", ".join(parts) + (f" ({hit.how})" if hit else "")


_WAIT = {
    "pt": {"soon": "menos de 1 minuto", "minutes": "{n} min", "unknown": "alguns minutos"},
    "en": {"soon": "under a minute", "minutes": "{n} min", "unknown": "a few minutes"},
}


def describe_wait(typical: float | None, position: int, sla_seconds: int | None, language: str) -> str:
    """A human estimate: the time one place in line takes (`QueueView.typical_wait`) times the places
    ahead plus half the one being served (handover/waits.py), else the SLA per place, else 'a few
    minutes'."""
    words = _WAIT.get(language, _WAIT["en"])
    if typical is not None:
        seconds = expected_seconds(typical, position)
    elif sla_seconds is not None:
        seconds = sla_seconds * max(position, 1)
    else:
        return words["unknown"]
    if seconds < 60:
        return words["soon"]
    return str(words["minutes"].format(n=round(seconds / 60)))


def wait_for(
    queues: QueueView,
    rules: Rules,
    number: str,
    queue: str,
    priority: Priority,
    position: int,
    now: float,
    language: str,
) -> str:
    """What a customer at `position` in `number`'s `queue` is told of their wait: the estimate from the
    queue's recent waits of their priority inside its business hours (`describe_wait`)."""
    spec = rules.queues[queue]
    hours = rules.business_hours.get(spec.business_hours or "")
    typical = queues.typical_wait(number, queue, priority, hours, now)
    return describe_wait(typical, position, spec.sla_seconds, language)
