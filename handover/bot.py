"""The bot interface the conversation handler calls while a conversation is with the bot, and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel

from handover.conversation import Conversation
from handover.message import InboundMessage, OutboundRequest

# "leave": a waiting customer left the queue (an intent with leave_queue, handover/rules/waiting.py)
Action = Literal["reply", "ask", "identity", "escalate", "unrecognized", "silent", "leave"]


class Decision(BaseModel):
    """What the bot did with one message and which rule made it do so: ops can always see why."""

    message_id: str
    action: Action
    rule: str  # "intents.greeting", "escalation.legal_or_churn", "messages.unrecognized" ...
    how: str | None = None  # why it matched: 'keyword "pedido"', 'button "menu_pedido"' ...
    score: int | None = None  # the winning intent's score (see handover/rules/matching.py)
    runner_up: str | None = None  # the next best intent and its score, e.g. "returns (11)"
    rules_version: str
    at: float


class EscalationDecision(BaseModel):
    """A person must take over: where, how urgently, and why."""

    queue: str
    priority: str
    reason: str
    rule: str
    rules_version: str
    at: float
    trigger_message_id: str
    skills: list[str] = []  # what the agent should know, from the escalate that fired (push queues match it)
    business_hours_open: bool = True
    wait_told: str | None = None  # the estimate the customer was given, so updates are sent only on change


@dataclass
class BotTurn:
    """The bot's answer to one message. `redact` names what the message held (e.g. "cpf") when it must
    not be kept in clear."""

    decision: Decision
    replies: list[OutboundRequest] = field(default_factory=list)
    escalation: EscalationDecision | None = None
    redact: str | None = None
    done: bool = False  # the customer thanked or acknowledged an answer: the bot's part is done
    could_not_help: bool = False  # handed over because the bot kept missing or could not collect


class Bot(Protocol):
    """Decides what to do with a customer message while the conversation is with the bot."""

    def handle(self, conversation: Conversation, message: InboundMessage) -> BotTurn: ...


class SilentBot:
    """Answers nothing."""

    def handle(self, conversation: Conversation, message: InboundMessage) -> BotTurn:
        return BotTurn(
            Decision(message_id=message.id, action="silent", rule="none", rules_version="none", at=0)
        )
