"""The bot interface the conversation handler calls while a conversation is with the bot."""

from __future__ import annotations

from typing import Protocol

from handover.conversation import Conversation
from handover.message import InboundMessage, OutboundRequest


class Bot(Protocol):
    """Decides what to answer to a customer message; the rules engine fills this in."""

    def handle(self, conversation: Conversation, message: InboundMessage) -> list[OutboundRequest]: ...


class SilentBot:
    """Answers nothing: the placeholder until the rule-based bot lands."""

    def handle(self, conversation: Conversation, message: InboundMessage) -> list[OutboundRequest]:
        return []
