"""Request and response bodies of the desk API; the OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from handover import clocks, coexistence
from handover.agents import Agent, Presence, Role
from handover.conversation import Conversation, ConversationState
from handover.identity import VerifiedIdentity
from handover.packet import ContextPacket
from handover.rules.model import Rules
from handover.store import Store
from handover.transcript import TranscriptEntry


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusBody(_Body):
    status: Presence


class SendBody(_Body):
    text: str = Field(min_length=1, max_length=4096)
    reply_to: str | None = Field(
        default=None,
        max_length=256,
        description="a message of this conversation the reply quotes (its transcript id): the customer "
        "sees it quoted",
    )


class ReactionBody(_Body):
    message_id: str = Field(min_length=1, max_length=256, description="the transcript id of the message")
    emoji: str = Field(max_length=16, description="one emoji; empty to take the reaction back")


class TypingView(BaseModel):
    sent: bool = Field(description="false when WhatsApp was told within the last 25 s already")


class NoteBody(_Body):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="for agents and supervisors only, never sent to the customer"
    )


class TemplateBody(_Body):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=16)
    params: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(default_factory=list)


class TransferBody(_Body):
    to_queue: str | None = None
    to_agent: str | None = None
    mode: Literal["cold", "warm"] = "cold"
    reason: str = Field(min_length=1, max_length=200, description="internal: never sent to the customer")
    note: str | None = Field(default=None, max_length=2000)
    customer_reason: str | None = Field(
        default=None,
        max_length=64,
        description="what the customer is told: a name from GET /api/v1/transfers/customer-reasons",
    )


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail

    @classmethod
    def of(cls, code: str, message: str) -> ErrorBody:
        return cls(error=ErrorDetail(code=code, message=message))


class AgentView(BaseModel):
    id: str
    name: str
    role: Role
    status: Presence
    queues: list[str]
    capacity: int
    languages: list[str]  # what push queues match on (handover/assignment/suitability.py)
    skills: list[str]
    load: int
    numbers: list[str] = Field(
        default_factory=list,
        description="the business numbers (phone_number_ids) they serve or supervise; empty: every number "
        "(and an admin serves every number whatever this says)",
    )

    @classmethod
    def of(cls, agent: Agent, load: int) -> AgentView:
        return cls(
            id=agent.id,
            name=agent.name,
            role=agent.role,
            status=agent.status,
            queues=agent.queues,
            capacity=agent.capacity,
            languages=agent.languages,
            skills=agent.skills,
            load=load,
            numbers=agent.numbers,
        )


class QueueStats(BaseModel):
    # the business number (phone_number_id) whose queue it is, each number's its own ('' before any number
    # is known: the default rules' queues, empty)
    number: str
    name: str
    label: dict[str, str] | None = None  # the team's name per language, from the rules
    mine: bool = False  # one of the signed-in agent's queues
    waiting: int
    oldest_wait_seconds: float | None
    sla_seconds: int | None
    sla_breaches: int


class SentView(BaseModel):
    id: str
    status: Literal["pending"]


class MediaLinkView(BaseModel):
    url: str  # opens the media without the bearer header (a `ticket` query), for this agent and media only
    expires_in: int  # seconds the URL works


class TemplateView(BaseModel):
    name: str
    language: str
    body: str
    params: int
    description: dict[str, str] | None

    @classmethod
    def all_of(cls, rules: Rules) -> list[TemplateView]:
        return [
            cls(name=name, language=code, body=body, params=t.params(code), description=t.description)
            for name, t in sorted(rules.templates.items())
            for code, body in t.languages.items()
        ]


class CustomerReasonView(BaseModel):
    """A reason an agent may tell the customer when moving them (rules `transfers.customer_reasons`)."""

    name: str
    texts: dict[str, str]  # language -> what the customer reads

    @classmethod
    def all_of(cls, rules: Rules) -> list[CustomerReasonView]:
        return [cls(name=n, texts=t) for n, t in sorted(rules.transfers.customer_reasons.items())]


class OfferView(BaseModel):
    """Offered to `to_agent` until `expires_at`: a warm transfer from `by_agent` (kind `transfer`), or a
    waiting conversation the assigner chose them for (kind `assignment`, push queues)."""

    kind: Literal["transfer", "assignment"]
    to_agent: str
    by_agent: str | None
    reason: str | None  # internal
    note: str | None
    expires_at: float | None
    customer_reason: str | None = (
        None  # what the customer will be told on accept (transfers.customer_reasons)
    )


class ConversationSummary(BaseModel):
    id: str
    state: str
    queue: str | None
    priority: str | None
    agent_id: str | None
    customer_name: str | None
    wa_id: str | None
    updated_at: float
    window_expires_at: float | None
    window_open: bool
    offer: OfferView | None
    csat: str | None  # the survey option the customer tapped, once resolved
    csat_score: int | None
    customer_key: str | None = None  # with phone_number_id: GET /api/v1/customers/{key}/conversations
    phone_number_id: str | None = None
    abandon_reason: str | None = None  # abandoned: customer_left (left the queue) or window_closed
    resolve_reason: str | None = None  # resolved with no agent asking: customer_idle (the idle clock)
    paused_by_phone_until: float | None = Field(
        default=None,
        description="with the bot, which stays quiet until then: a person wrote to the customer from the "
        "WhatsApp Business app on this number (a supervisor's POST .../release hands it back at once)",
    )
    agent_silent_since: float | None = Field(
        default=None,
        description="held, and the customer has waited for the agent's answer since then, past the queue's "
        "agent_reply_seconds (desk event agent_silent); null once the agent answers",
    )

    @classmethod
    def of(cls, c: Conversation, now: float) -> ConversationSummary:
        """`now`: the desk's clock, for whether the 24-hour window is still open."""
        return cls(
            id=c.id,
            state=c.state,
            queue=c.queue,
            priority=c.priority,
            agent_id=c.agent_id,
            customer_name=c.profile_name,
            wa_id=c.wa_id,
            updated_at=c.updated_at,
            window_expires_at=c.window_expires_at,
            window_open=c.is_window_open(now),
            csat=c.csat,
            csat_score=c.csat_score,
            customer_key=c.customer_key,
            phone_number_id=c.phone_number_id,
            abandon_reason=c.abandon_reason,
            resolve_reason=c.resolve_reason,
            paused_by_phone_until=c.phone_paused_until if coexistence.is_paused(c, now) else None,
            agent_silent_since=clocks.silent_since(c),
            offer=None
            if c.offer_to is None
            else OfferView(
                kind="assignment" if c.state == ConversationState.QUEUED else "transfer",
                to_agent=c.offer_to,
                by_agent=c.offer_by,
                reason=c.offer_reason,
                customer_reason=c.offer_customer_reason or None,
                note=c.offer_note or None,
                expires_at=c.offer_expires_at,
            ),
        )


class ConversationDetail(ConversationSummary):
    identity: VerifiedIdentity | None
    packet: ContextPacket | None
    transcript: list[TranscriptEntry]

    @classmethod
    def load(cls, store: Store, c: Conversation, now: float) -> ConversationDetail:
        summary = ConversationSummary.of(c, now).model_dump()
        packet, transcript = store.packet_and_transcript(c.id)
        return cls(**summary, identity=c.identity, packet=packet, transcript=transcript)
