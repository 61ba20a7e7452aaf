"""One customer message to a conversation kept in memory, taken as the worker takes it, for the tools that
replay turns offline with a fixed queue view: golden conversations (golden.py) and what-if (whatif.py).

- with the bot: the bot's turn (`RuleBot.handle`); a handover leaves the conversation waiting in the
  escalation's queue, with its priority (handover/traffic/processing.py);
- waiting (queued): heard only for the intents heard while waiting (`rules.waiting.answer`, which the worker's
  handover/waiting.py calls too), told the place and estimate the queue view gives, or when people are back
  while the queue is closed; leaving abandons the conversation (reason `customer_left`); anything else waits
  for the agent, in silence;
- over (the customer left the queue): the message starts a new conversation with the bot, as the worker does.
"""

from __future__ import annotations

from dataclasses import dataclass

from handover.bot import BotTurn, Decision
from handover.conversation import Conversation, ConversationState
from handover.message import InboundMessage
from handover.rules import waiting
from handover.rules.bot import RuleBot
from handover.rules.model import Hours, Priority

CUSTOMER_LEFT = "customer_left"  # the abandonment reason, as handover/waiting.py stores it


@dataclass
class Taken:
    """What became of one message: the conversation it went to (a new one after the customer left), and
    the bot's turn or the answer to a waiting customer (neither: with a person, the bot stays silent)."""

    conversation: Conversation
    turn: BotTurn | None = None
    waited: waiting.WaitingTurn | None = None

    @property
    def decision(self) -> Decision | None:
        made = self.turn or self.waited
        return made.decision if made is not None else None


def take(bot: RuleBot, conversation: Conversation, message: InboundMessage, now: float) -> Taken:
    """The message said at `now` to `conversation` (changed in place; a new one if it was over)."""
    if conversation.state.is_closed:  # they left the queue: a later message starts anew with the bot
        conversation = Conversation.start(message.customer, now)
    if conversation.state == ConversationState.BOT:
        turn = bot.handle(conversation, message)
        if turn.escalation is not None:
            conversation.move_to(ConversationState.QUEUED, now)
            conversation.queue, conversation.priority = turn.escalation.queue, turn.escalation.priority
        return Taken(conversation, turn=turn)
    if conversation.state != ConversationState.QUEUED or conversation.queue is None:
        return Taken(conversation)  # a person holds it: the worker never asks the bot
    loaded, queue = bot.rules(conversation.phone_number_id), conversation.queue
    priority = Priority(conversation.priority or Priority.NORMAL.value)

    def place(hours: Hours | None) -> tuple[int, float | None]:
        number = conversation.phone_number_id
        return (
            bot.queues.position(number, queue, priority, now),
            bot.queues.typical_wait(number, queue, priority, hours, now),
        )

    def standing(language: str) -> waiting.Standing:
        return waiting.stands(loaded, queue, now, language, place)

    waited = waiting.answer(loaded, bot.compiled(loaded), conversation, message, now, standing)
    if waited is not None and waited.leaves:
        conversation.move_to(ConversationState.ABANDONED, now)
        conversation.abandoned_at, conversation.abandon_reason = now, CUSTOMER_LEFT
    return Taken(conversation, waited=waited)
