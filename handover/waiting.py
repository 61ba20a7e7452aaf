"""A customer waiting for a person (queued, or offered to an agent by a push queue) who says they are done
waiting ("deixa pra lá, já resolvi") or asks how long ("falta muito?"), heard in the webhook's batches.

handover/traffic/processing.py calls `hear` for every message of a conversation that is not with the bot; the
rules decide (handover/rules/waiting.py) from where the customer stands, read here; what it decided is
written with the rest of the batch, under the partition's lease:
- leaving: the conversation is `abandoned` with reason `customer_left` (moved in memory like the batch's
  other moves, so `Lifecycle.follow` takes it out of its queue, the offers index and the offered agent's
  offer set), the offer withdrawn (`offer_withdrawn`, why `customer_left`), counted as an abandonment with
  its wait (`kpis.abandoned`), announced (`abandoned`), the customer told `messages.left_queue`;
- asking: answered with `messages.queue_update` (the estimate the `queued` message gives), noted as told
  so the periodic announcement does not repeat it at once; when the queue is closed, when people are back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from redis.client import Pipeline

from handover import keys, kpis
from handover.assignment.queues import enqueued_at, note_told
from handover.bot import Bot, Decision
from handover.conversation import Conversation, ConversationState
from handover.events import publish
from handover.message import InboundMessage
from handover.rules.bot import RuleBot
from handover.rules.model import Hours, Priority
from handover.rules.waiting import Standing, answer, stands
from handover.store import Store
from handover.traffic.enqueue import OutboundJob, reply
from handover.traffic.fenced import Expected
from handover.transcript import TranscriptEntry

log = structlog.get_logger(__name__)

CUSTOMER_LEFT = "customer_left"  # the abandonment reason (kpis.ABANDON_REASONS)


@dataclass
class Heard:
    """What a waiting customer's message changed, beyond the conversation itself: written by `write`."""

    conversation: Conversation
    decision: Decision
    at: float
    entries: list[tuple[str, TranscriptEntry]] = field(default_factory=list)  # the bot's answers
    sends: list[OutboundJob] = field(default_factory=list)
    left: bool = False
    offered_to: str | None = None  # the agent offered it when the customer left: the offer is withdrawn
    waited_seconds: float = 0.0  # how long the customer had waited when they left
    wait_told: str | None = None  # the estimate the customer was given
    expect: Expected | None = None  # left: where it waited, to hold when the batch commits

    def write(self, pipe: Pipeline) -> None:
        """Queue on the batch's transaction what follows; the conversation, its place (queue, offers) and
        the transcript are the batch's own writes."""
        conversation, queue = self.conversation, self.conversation.queue
        if self.wait_told is not None:
            note_told(pipe, conversation.id, self.wait_told, self.at)
        if not self.left:
            return
        # the offer's own field (Lifecycle.follow drops the index entries): a withdrawal re-queues with it
        pipe.hdel(keys.conversation_key(conversation.id), "offer_score")
        if self.offered_to is not None:
            publish(
                pipe,
                "offer_withdrawn",
                conversation.id,
                agent_id=self.offered_to,
                queue=queue,
                why=CUSTOMER_LEFT,
            )
            kpis.tally(pipe, "offers_withdrawn", self.at, agent_id=self.offered_to)
        kpis.abandoned(pipe, queue, CUSTOMER_LEFT, self.waited_seconds, self.at)
        publish(pipe, "abandoned", conversation.id, queue=queue, reason=CUSTOMER_LEFT)


def is_waiting(conversation: Conversation | None) -> bool:
    """Waiting for a person: queued, offered to an agent or not (a warm transfer is not a wait)."""
    return (
        conversation is not None
        and conversation.state == ConversationState.QUEUED
        and conversation.queue is not None
    )


def hear(
    bot: Bot,
    store: Store,
    before: Conversation | None,
    conversation: Conversation,
    message: InboundMessage,
    partitions: int,
    now: float,
) -> Heard | None:
    """What the rules make of a message to a conversation that is not with the bot: None unless it waited
    before this batch and still does (not reopened into its queue by this very message) and an intent with
    leave_queue or queue_status matches. Leaving moves `conversation` (in memory: the batch writes it)."""
    if not isinstance(bot, RuleBot) or not is_waiting(before) or not is_waiting(conversation):
        return None
    loaded = bot.rules()
    queue = conversation.queue or ""

    def standing(language: str) -> Standing:
        def place(hours: Hours | None) -> tuple[int, float | None]:
            # the same estimate the `queued` message gives: this queue and priority, inside its hours
            priority = Priority(conversation.priority or Priority.NORMAL.value)
            typical = bot.queues.typical_wait(conversation.phone_number_id, queue, priority, hours, now)
            return _place(store, conversation)[0], typical

        return stands(loaded, queue, now, language, place)

    turn = answer(loaded, bot.compiled(loaded), conversation, message, now, standing)
    if turn is None:
        return None
    heard = Heard(conversation, turn.decision, now, wait_told=turn.wait_told)
    answered_at = max(now, float(message.timestamp))  # never before the message it answers
    for request in turn.replies:
        entry, job = reply(conversation, request, "bot", answered_at, partitions)
        heard.entries.append((conversation.id, entry))
        heard.sends.append(job)
    if turn.leaves:
        _, since = _place(store, conversation)
        heard.left, heard.offered_to = True, conversation.offer_to
        # an agent who accepts or claims it before the batch commits wins: the batch is redone (fenced.py)
        waited = {
            "state": ConversationState.QUEUED.value,
            "queue": queue,
            "offer_to": conversation.offer_to or "",
        }
        heard.expect = Expected(keys.conversation_key(conversation.id), waited)
        heard.waited_seconds = max(0.0, now - (since if since is not None else conversation.created_at))
        conversation.move_to(ConversationState.ABANDONED, now)
        conversation.offer_to = conversation.offer_expires_at = None  # the offer ends with the wait
        conversation.abandoned_at, conversation.abandon_reason = now, CUSTOMER_LEFT
        log.info(
            "queue_left",
            conversation_id=conversation.id,
            message_id=message.id,
            queue=queue,
            offered=heard.offered_to is not None,
            rule=turn.decision.rule,
        )
    else:
        log.info("queue_status_told", conversation_id=conversation.id, message_id=message.id, queue=queue)
    return heard


def expected(waits: list[Heard]) -> list[Expected]:
    """Where the conversations their customers left waited, as the batch read them: its commit applies only
    if they still wait there (handover/traffic/fenced.py)."""
    return [heard.expect for heard in waits if heard.expect is not None]


def written(
    ended: list[Conversation], waits: list[Heard], current: dict[str, Conversation]
) -> list[Conversation]:
    """A batch's conversations to write, each once: those it ended with the bot, those whose customer left
    the queue (a later message of the batch may have started a new one), and the customers' current ones."""
    left = [heard.conversation for heard in waits if heard.left]
    return list({c.id: c for c in [*ended, *left, *current.values()]}.values())


def _place(store: Store, conversation: Conversation) -> tuple[int, float | None]:
    """The customer's place in line (1 while offered: it is out of the queue, an agent has it before them)
    and since when they wait (the queue's score, kept as `offer_score` while offered)."""
    queue = keys.queue_key(conversation.phone_number_id, conversation.queue or "")
    with store.client.pipeline(transaction=False) as pipe:
        pipe.zrank(queue, conversation.id)
        pipe.zscore(queue, conversation.id)
        pipe.hget(keys.conversation_key(conversation.id), "offer_score")
        rank, score, offered = pipe.execute()
    score = score if score is not None else offered
    return (int(rank) + 1 if rank is not None else 1), enqueued_at(
        float(score)
    ) if score is not None else None
