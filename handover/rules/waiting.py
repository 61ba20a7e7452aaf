"""What the bot hears from a customer who waits for a person (queued, or offered to an agent): only the
intents that end the wait (`leave_queue`) or ask how long it is (`queue_status`), scored as the bot scores
every intent. Other intents and the escalation triggers are not heard while waiting: the rest of what the
customer writes is for the agent, so "cancela o atendimento" leaves the queue instead of escalating.

Pure: where the customer stands is given (`Standing`, made by `stands` from their place and the queue's
hours); handover/waiting.py reads the place from Redis and writes the result; rules/tools/replay.py (golden
conversations, what-if) takes the place from a fixed queue view and keeps the result in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from handover.bot import Decision
from handover.conversation import Conversation
from handover.hours import describe_opening, is_open
from handover.message import InboundMessage, OutboundRequest
from handover.rules import wording
from handover.rules.language import guess_language
from handover.rules.lexicon import View
from handover.rules.loader import LoadedRules
from handover.rules.matching import Hit
from handover.rules.model import Hours, Intent
from handover.rules.turn import READ, Compiled, Turn, describe_wait

LEFT_QUEUE = "left_queue"  # the messages told (rules `messages`)
QUEUE_UPDATE = "queue_update"


def is_heard_while_waiting(intent: Intent) -> bool:
    return intent.leave_queue or intent.queue_status


@dataclass(frozen=True)
class Standing:
    """Where a waiting customer stands: their place in line (1 while offered to an agent), the queue's
    typical wait (as the `queued` message estimates it), and when people are back if it is closed now."""

    position: int
    typical_wait: float | None
    sla_seconds: int | None = None
    reopens: str | None = None  # closed now: when it opens, in words ("amanhã às 08:00")
    closed_message: str = "outside_hours"  # what the closing message was (leave_details for such queues)


@dataclass
class WaitingTurn:
    """The answer to one message of a waiting customer that an intent heard while waiting."""

    decision: Decision
    intent: Intent
    language: str  # the customer's, as this message shows it
    replies: list[OutboundRequest] = field(default_factory=list)
    wait_told: str | None = None  # queue_status answered with this estimate (so updates skip it)

    @property
    def leaves(self) -> bool:
        return self.intent.leave_queue


def stands(
    loaded: LoadedRules,
    queue: str,
    now: float,
    language: str,
    place: Callable[[Hours | None], tuple[int, float | None]],
) -> Standing:
    """Where a customer waiting in `queue` stands at `now`: when people are back if its hours are closed;
    else the place in line and the typical wait `place` gives (asked only then, with the queue's hours: the
    estimate reads waits inside them, as the `queued` message's does)."""
    settings = loaded.rules.queues.get(queue)
    hours = loaded.rules.business_hours.get(settings.business_hours or "") if settings else None
    if hours is not None and not is_open(hours, now):
        closed = "leave_details" if hours.outside == "leave_details" else "outside_hours"
        return Standing(0, None, reopens=describe_opening(hours, now, language), closed_message=closed)
    position, typical = place(hours)
    return Standing(position, typical, settings.sla_seconds if settings else None)


def heard(
    compiled: Compiled, message: InboundMessage, view: View | None = None
) -> tuple[Intent, Hit, str | None] | None:
    """The best of the intents heard while waiting that the message meets, its hit and the runner-up among
    them; None when it meets none (the message waits for the agent)."""
    if message.kind not in READ:
        return None
    ranked = [(i, h) for i, h in compiled.ranked(message, view) if is_heard_while_waiting(i)]
    if not ranked:
        return None
    (intent, hit), *rest = ranked
    return intent, hit, f"{rest[0][0].name} ({rest[0][1].score})" if rest else None


def answer(
    loaded: LoadedRules,
    compiled: Compiled,
    conversation: Conversation,
    message: InboundMessage,
    now: float,
    standing: Callable[[str], Standing],
) -> WaitingTurn | None:
    """What the bot says to a waiting customer's message, and which rule decided it; None when no intent
    heard while waiting matches. `standing` (given the customer's language) is asked only for a
    queue_status question."""
    found = heard(compiled, message, compiled.lexicon.view(message.text))
    if found is None:
        return None
    intent, hit, runner_up = found
    rules = loaded.rules
    language = (
        guess_language(message.text, rules.languages) or conversation.bot.language or rules.default_language
    )
    turn = Turn(loaded, conversation, message, language, now, hit.score, runner_up)
    rule = f"intents.{intent.name}"
    if intent.leave_queue:
        told = wording.say_message(turn, LEFT_QUEUE) or wording.intent_replies(turn, intent)
        return WaitingTurn(turn.decision("leave", rule, hit.how), intent, language, told)
    where = standing(language)
    if where.reopens is not None:  # nobody is there to shorten the wait: when people are back
        told = wording.say_message(turn, where.closed_message, reopens=where.reopens)
        return WaitingTurn(turn.decision("reply", rule, hit.how), intent, language, told)
    wait = describe_wait(where.typical_wait, where.position, where.sla_seconds, language)
    told = wording.say_message(turn, QUEUE_UPDATE, position=where.position, wait=wait)
    if not told:
        return WaitingTurn(
            turn.decision("reply", rule, hit.how), intent, language, wording.intent_replies(turn, intent)
        )
    return WaitingTurn(turn.decision("reply", rule, hit.how), intent, language, told, wait_told=wait)
