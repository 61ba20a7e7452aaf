"""What one bot turn works with: the message kinds, the compiled rules, the queue view, wait estimates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from handover.bot import Action, Decision
from handover.conversation import Conversation
from handover.message import InboundKind, InboundMessage
from handover.rules.loader import LoadedRules
from handover.rules.matching import Hit, Matcher, Phrase
from handover.rules.model import Priority, Rules, When

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
    """What the bot needs to know of the queues to tell a customer where they stand."""

    def position(self, queue: str, priority: Priority, at: float) -> int: ...

    def typical_wait(self, queue: str) -> float | None: ...


class Compiled:
    """Matchers built once per rules version."""

    def __init__(self, rules: Rules) -> None:
        self.intents = [(intent, Matcher(intent.match)) for intent in rules.intents]
        self.by_name = {intent.name: intent for intent in rules.intents}
        self.keywords = [[Phrase(k, typos=False) for k in t.when.keywords or []] for t in rules.escalation]


@dataclass
class Turn:
    loaded: LoadedRules
    conversation: Conversation
    message: InboundMessage
    language: str
    now: float

    @property
    def rules(self) -> Rules:
        return self.loaded.rules

    def decision(self, action: Action, rule: str, how: str | None = None) -> Decision:
        return Decision(
            message_id=self.message.id,
            action=action,
            rule=rule,
            how=how,
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
    """A human estimate: recent waits of the queue scaled by position, else the SLA, else 'a few minutes'."""
    words = _WAIT.get(language, _WAIT["en"])
    if typical is not None:
        seconds = typical * max(position, 1)
    elif sla_seconds is not None:
        seconds = sla_seconds * max(position, 1)
    else:
        return words["unknown"]
    if seconds < 60:
        return words["soon"]
    return "~" + words["minutes"].format(n=round(seconds / 60))
