"""The context packet: the one thing an agent reads first. Versioned, JSON-Schema exported."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from handover.bot import EscalationDecision
from handover.conversation import Conversation
from handover.identity import VerifiedIdentity
from handover.transcript import TranscriptEntry

SCHEMA_VERSION: Literal[1] = 1


class Channel(BaseModel):
    phone_number_id: str


class Customer(BaseModel):
    wa_id: str | None = None
    user_id: str | None = None
    profile_name: str | None = None
    language: str | None = None


class IdentityView(BaseModel):
    """Whether and how the customer proved who they are; never the values they typed."""

    verified: bool = False
    method: str | None = None
    level: str | None = None
    verified_at: float | None = None
    customer_reference: str | None = None
    display_name: str | None = None

    @classmethod
    def of(cls, identity: VerifiedIdentity | None) -> IdentityView:
        return cls() if identity is None else cls(**identity.model_dump())


class IntentView(BaseModel):
    name: str | None = None
    how: str | None = None


class TriggerMessage(BaseModel):
    id: str
    text: str | None = None


class EscalationView(BaseModel):
    reason: str
    rule: str
    rules_version: str
    at: float
    trigger_message: TriggerMessage
    business_hours_open: bool = True


class Transfer(BaseModel):
    """One move between queues or agents (filled by the desk)."""

    from_: str = Field(alias="from")
    to: str
    mode: Literal["warm", "cold"]
    reason: str  # internal: the agent's words, never sent to the customer
    note: str | None = None
    customer_reason: str | None = None  # what the customer was told, a name from transfers.customer_reasons
    at: float
    by: str | None = None
    requeue: bool = Field(
        default=False,
        description="the handover moved it back to its queue (its agent went offline, was removed, or left "
        "the customer unanswered): not a person's transfer, so no cap, senior lane or KPI counts it",
    )


def people_moves(transfers: list[Transfer]) -> list[Transfer]:
    """The transfers people made (what the cap, the senior lane and transfers per conversation count)."""
    return [t for t in transfers if not t.requeue]


class Assignment(BaseModel):
    """A supervisor gave the conversation out while it waited (to an agent or a queue): not a transfer —
    nobody had served the customer, who was told nothing; no cap or senior lane counts it."""

    from_: str = Field(alias="from")  # queue:<name> it waited in
    to: str  # an agent's id, or queue:<name>
    reason: str  # internal: the supervisor's words, for the agent who takes it
    note: str | None = None
    at: float
    by: str


class Note(BaseModel):
    """A private note an agent or supervisor left on the conversation (never sent to the customer)."""

    by: str  # the agent's id
    by_name: str
    at: float
    text: str


class ContextPacket(BaseModel):
    """What the bot learnt, handed to the person who takes over, so the customer never repeats anything."""

    schema_version: Literal[1] = SCHEMA_VERSION
    conversation_id: str
    channel: Channel
    customer: Customer
    identity: IdentityView
    intent: IntentView
    escalation: EscalationView
    queue: str
    priority: str
    skills: list[str] = Field(default_factory=list)
    collected: dict[str, str] = Field(default_factory=dict)
    unrecognized: int = 0  # messages the bot did not understand before it handed over
    summary: str  # in the rules' default language as stored; the desk gives it in the reader's (summary_of)
    transcript: list[TranscriptEntry]
    transfers: list[Transfer] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)  # a supervisor's, while it waited
    notes: list[Note] = Field(default_factory=list)  # travels with transfers: the next agent reads them
    previous_agent: str | None = None
    past_conversations: list[str] = Field(default_factory=list)


def build_packet(
    conversation: Conversation,
    escalation: EscalationDecision,
    transcript: list[TranscriptEntry],
    summary_language: str = "pt",
    past_conversations: list[str] | None = None,
) -> ContextPacket:
    trigger = next((e for e in transcript if e.id == escalation.trigger_message_id), None)
    bot = conversation.bot
    packet = ContextPacket(
        conversation_id=conversation.id,
        channel=Channel(phone_number_id=conversation.phone_number_id),
        customer=Customer(
            wa_id=conversation.wa_id,
            user_id=conversation.user_id,
            profile_name=conversation.profile_name,
            language=bot.language,
        ),
        identity=IdentityView.of(conversation.identity),
        intent=IntentView(name=bot.intent, how=bot.intent_how),
        escalation=EscalationView(
            reason=escalation.reason,
            rule=escalation.rule,
            rules_version=escalation.rules_version,
            at=escalation.at,
            business_hours_open=escalation.business_hours_open,
            trigger_message=TriggerMessage(
                id=escalation.trigger_message_id, text=trigger.text if trigger else None
            ),
        ),
        queue=escalation.queue,
        priority=escalation.priority,
        skills=list(escalation.skills),
        collected=dict(bot.collected),
        unrecognized=bot.unrecognized_total,
        summary="",
        transcript=transcript,
        previous_agent=conversation.previous_agent,
        past_conversations=past_conversations or [],
    )
    packet.summary = summary_of(packet, summary_language)
    return packet


_SUMMARY: dict[str, dict[str, str]] = {
    "pt": {
        "intent": "Assunto: {intent}",
        "verified": "identidade verificada por {method}",
        "unverified": "identidade não verificada",
        "unrecognized": "{n} mensagens não entendidas",
        "unrecognized_one": "1 mensagem não entendida",
        "reason": "motivo: {reason}",
    },
    "en": {
        "intent": "Asked about {intent}",
        "verified": "identity verified by {method}",
        "unverified": "identity not verified",
        "unrecognized": "{n} unrecognised messages",
        "unrecognized_one": "1 unrecognised message",
        "reason": "reason: {reason}",
    },
}


SUMMARY_LANGUAGES = tuple(_SUMMARY)


def summary_of(packet: ContextPacket, language: str = "pt") -> str:
    """A short rule-made line in `language` (English for one it has no words for), e.g. 'Asked about
    order_status (order_number 4455), identity verified by cpf+birth_date, 2 unrecognised messages, reason:
    customer_asked'. Made from the packet alone, so the desk can give it in each reader's language."""
    words = _SUMMARY.get(language, _SUMMARY["en"])
    parts = []
    if packet.intent.name:
        collected = ", ".join(f"{k} {v}" for k, v in packet.collected.items())
        asked = words["intent"].format(intent=packet.intent.name)
        parts.append(asked + (f" ({collected})" if collected else ""))
    if packet.identity.verified:
        parts.append(words["verified"].format(method=packet.identity.method))
    else:
        parts.append(words["unverified"])
    if packet.unrecognized:
        key = "unrecognized_one" if packet.unrecognized == 1 else "unrecognized"
        parts.append(words[key].format(n=packet.unrecognized))
    parts.append(words["reason"].format(reason=packet.escalation.reason))
    return ", ".join(parts)


def packet_schema() -> dict[str, Any]:
    return ContextPacket.model_json_schema(by_alias=True)
