"""A queue's settings in the rules: how conversations reach agents (pull or push, and a push queue's
policy, offers and matching) and the clocks on the conversations its agents hold."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from handover.rules.fields import Name, Texts
from handover.rules.fields import Strict as _Strict


class Assignment(StrEnum):
    """How a queue's conversations reach agents."""

    PULL = "pull"  # agents take the next one themselves ("take next"), or a supervisor assigns
    PUSH = "push"  # offered to the most suitable available agent the moment one is free


class Policy(StrEnum):
    """Which of equally suitable agents a push queue offers to first."""

    LONGEST_IDLE = "longest_idle"  # the one who has waited longest without a new conversation
    LEAST_LOADED = "least_loaded"  # the one holding fewest now (then fewest given lately)
    ROUND_ROBIN = "round_robin"  # the one given a conversation least recently


class MatchMode(StrEnum):
    PREFERRED = "preferred"  # matching agents first; anyone suitable when none is free
    REQUIRED = "required"  # only matching agents: the conversation waits for one


class QueueMatch(_Strict):
    """What a push queue's agents must share with the conversation, or are preferred for."""

    language: MatchMode = Field(default=MatchMode.PREFERRED, description="the customer's language")
    skills: MatchMode = Field(default=MatchMode.PREFERRED, description="the skills the escalation asks for")


class CustomerIdle(_Strict):
    """A held conversation whose customer stopped answering the agent: reminded once, then closed."""

    remind_after_minutes: int | None = Field(
        default=None,
        ge=1,
        le=24 * 60,
        description="since the agent's last message with no answer: send messages.idle_reminder once",
    )
    close_after_minutes: int = Field(
        ge=1,
        le=24 * 60,
        description="since the agent's last message with no answer: resolve with reason customer_idle "
        "(messages.idle_closed if written; the CSAT survey only with csat.on_idle_close)",
    )

    @model_validator(mode="after")
    def _order(self) -> CustomerIdle:
        if self.remind_after_minutes is not None and self.remind_after_minutes >= self.close_after_minutes:
            raise ValueError("remind_after_minutes must come before close_after_minutes")
        return self


class AgentSilence(StrEnum):
    """What happens when the holding agent leaves a customer message unanswered past agent_reply_seconds."""

    ALERT = "alert"  # the agent and supervisors are told (desk event agent_silent); it stays with the agent
    REQUEUE = "requeue"  # alerted, then back to its queue ahead of newer ones after requeue_after_seconds


# Settings that mean something only when a queue pushes: given on a pull queue, they are an error
PUSH_SETTINGS = ("policy", "offer_timeout_seconds", "match", "away_after_missed_offers")


class Queue(_Strict):
    label: Texts | None = Field(default=None, description="the team's name as customers read it")
    sla_seconds: int | None = Field(default=None, ge=1)
    business_hours: Name | None = Field(default=None, description="a key of business_hours; default: always")
    assignment: Assignment = Field(
        default=Assignment.PULL,
        description="pull: agents take the next conversation; push: it is offered to the best free agent",
    )
    policy: Policy = Field(default=Policy.LONGEST_IDLE, description="push: who goes first among equals")
    offer_timeout_seconds: int = Field(
        default=30,
        ge=0,
        le=600,
        description="push: how long an agent has to accept an offer before it moves on; 0 assigns directly",
    )
    match: QueueMatch = Field(default_factory=QueueMatch, description="push: language and skills matching")
    away_after_missed_offers: int = Field(
        default=3,
        ge=1,
        le=20,
        description="push: an agent who lets this many offers in a row expire is set away",
    )

    agent_reply_seconds: int | None = Field(
        default=None,
        ge=10,
        le=7 * 24 * 3600,
        description="how long a customer message may wait for the holding agent's answer (the first one "
        "included) before the conversation is marked agent_silent; unset: no clock",
    )
    on_agent_silence: AgentSilence = Field(
        default=AgentSilence.ALERT,
        description="alert: mark it for the agent and supervisors; requeue: also send it back to the "
        "queue after requeue_after_seconds",
    )
    requeue_after_seconds: int | None = Field(
        default=None,
        ge=10,
        le=7 * 24 * 3600,
        description="requeue: how long the customer message may wait in all before the conversation goes "
        "back to its queue (at least agent_reply_seconds; default twice it)",
    )
    customer_idle: CustomerIdle | None = Field(
        default=None, description="remind, then close, a customer who stopped answering the agent"
    )

    @model_validator(mode="after")
    def _clocks(self) -> Queue:
        if self.agent_reply_seconds is None:
            if self.on_agent_silence is AgentSilence.REQUEUE or self.requeue_after_seconds is not None:
                raise ValueError("on_agent_silence and requeue_after_seconds need agent_reply_seconds")
        elif self.requeue_after_seconds is not None:
            if self.on_agent_silence is not AgentSilence.REQUEUE:
                raise ValueError("requeue_after_seconds is for on_agent_silence: requeue")
            if self.requeue_after_seconds < self.agent_reply_seconds:
                raise ValueError("requeue_after_seconds must be at least agent_reply_seconds")
        return self

    @property
    def requeue_seconds(self) -> int | None:
        """After how long an unanswered customer message sends the conversation back (None: never)."""
        if self.agent_reply_seconds is None or self.on_agent_silence is not AgentSilence.REQUEUE:
            return None
        return self.requeue_after_seconds or 2 * self.agent_reply_seconds

    @property
    def pushes(self) -> bool:
        """Conversations are offered to agents (not waiting for one to take them)."""
        return self.assignment is Assignment.PUSH
