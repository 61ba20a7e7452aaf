"""Cold transfers between queues and agents, with the governance the rules set, recorded in the packet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from handover import audit, kpis
from handover.agents import Agent, AgentStore, Presence, UnknownAgent
from handover.clock import Clock, system_clock
from handover.conversation import WARM_OFFER_FIELDS, Conversation, ConversationState
from handover.errors import Conflict, Invalid, NotFound, NotYours, Unavailable
from handover.lifecycle import Event, Lifecycle
from handover.packet import Assignment, ContextPacket, Transfer, people_moves
from handover.rules.loader import LoadedRules
from handover.rules.model import Priority
from handover.rules.texts import transferred
from handover.store import Store
from handover.traffic.enqueue import OutboundJob, reply, text_request
from handover.transcript import TranscriptEntry

_RAISED = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
    Priority.URGENT: Priority.URGENT,
}
_HELD = frozenset({ConversationState.ASSIGNED, ConversationState.TRANSFERRING})


@dataclass(frozen=True)
class TransferRequest:
    """`reason` and `note` are internal (the packet, the next agent); the customer is told only the target
    and, if the agent picked one, `customer_reason`: a name from the rules' `transfers.customer_reasons`."""

    reason: str
    to_queue: str | None = None
    to_agent: str | None = None
    note: str | None = None
    mode: str = "cold"
    customer_reason: str | None = None


class Transfers:
    """Moves a conversation from its agent to a queue or straight to another agent, and tells the customer."""

    def __init__(
        self,
        store: Store,
        agents: AgentStore,
        rules: Callable[..., LoadedRules],  # by number: a Rulebook, or one RulesHolder
        partitions: int,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.client: redis.Redis = store.client
        self.agents = agents
        self.rules = rules
        self.partitions = partitions
        self.clock = clock
        self.lifecycle = Lifecycle(self.client, clock)

    def transfer(self, by: Agent, conversation_id: str, move: TransferRequest) -> Conversation:
        """Cold transfer: the conversation leaves its agent at once. Governance from the rules: from the
        `senior_lane_after`-th transfer it goes to the senior queue with raised priority; past
        `max_per_conversation` only a supervisor may move it; straight back to the agent it came from only
        by a supervisor. Identity stays verified: the packet carries it along."""
        if move.mode != "cold":
            raise Conflict("a warm transfer is an offer: see handover/warm.py")
        if (move.to_queue is None) == (move.to_agent is None):
            raise Conflict("give exactly one of to_queue or to_agent")
        self.check_customer_reason(move, self._number(conversation_id))
        return self._move_one(by, conversation_id, move, self.clock(), governed=True)

    def check_customer_reason(self, move: TransferRequest, number: str | None = None) -> None:
        """A reason told to the customer is one ops wrote, in the rules of the conversation's number:
        never the agent's own words (422 otherwise)."""
        known = self.rules(number).rules.transfers.customer_reasons
        if move.customer_reason is not None and move.customer_reason not in known:
            names = ", ".join(sorted(known)) or "none in the rules"
            raise Invalid(f"unknown customer_reason {move.customer_reason!r} (known: {names})")

    def requeue_held(self, agent: Agent, reason: str = "agent_unavailable") -> list[str]:
        """An agent went offline (or was removed: `reason` agent_removed): their conversations go back to
        their queues, ahead of newer ones; one they were offering a colleague (warm) too, the offer ended.
        Raises Conflict when one changed meanwhile (what moved before it stays moved: call again)."""
        now = self.clock()
        moved = []
        for conversation_id in self.agents.held([agent.id]):
            conversation = self.store.conversation(conversation_id)
            if conversation is None or conversation.state not in _HELD or conversation.agent_id != agent.id:
                self.lifecycle.let_go(agent.id, conversation_id)  # not theirs to hold any more
                continue
            move = TransferRequest(
                reason=reason, to_queue=conversation.queue or self._first_queue(conversation)
            )
            self._move_one(agent, conversation_id, move, now, governed=False)
            moved.append(conversation_id)
        return moved

    def requeue_one(
        self,
        agent: Agent,
        conversation_id: str,
        reason: str,
        still: Callable[[Conversation], bool] | None = None,
    ) -> None:
        """One conversation the agent holds back to its queue, ahead of newer ones, as `requeue_held` moves
        each, telling the customer nothing: a silent agent's (reason agent_silent, handover/clockwatch.py).
        Raises Conflict when it changed meanwhile, is not theirs any more, or no longer passes `still`
        (checked on the conversation as the move commits: the agent who answers meanwhile keeps it)."""
        conversation = self.store.conversation(conversation_id)
        if conversation is None or conversation.state not in _HELD or conversation.agent_id != agent.id:
            raise Conflict("not held by this agent any more")
        queue = conversation.queue or self._first_queue(conversation)
        move = TransferRequest(reason=reason, to_queue=queue)
        now = self.clock()
        self._move_one(agent, conversation_id, move, now, governed=False, still=still)

    def _move_one(
        self,
        by: Agent,
        conversation_id: str,
        move: TransferRequest,
        now: float,
        governed: bool,
        still: Callable[[Conversation], bool] | None = None,
    ) -> Conversation:
        with self.client.pipeline(transaction=True) as pipe:
            try:
                self.store.watch(pipe, conversation_id)
                conversation, packet = self._load(conversation_id)
                rules = self.rules(conversation.phone_number_id).rules
                if still is not None and not still(conversation):
                    raise Conflict("the conversation changed meanwhile")
                # supervisors also move conversations still waiting (to another queue, or to an agent); a
                # requeue also one its agent was offering a colleague
                movable = {ConversationState.ASSIGNED} | (
                    {ConversationState.QUEUED} if by.is_supervisor else set()
                )
                movable |= set() if governed else {ConversationState.TRANSFERRING}
                if conversation.state not in movable:
                    raise Conflict(f"conversation is {conversation.state}")
                if conversation.agent_id != by.id and not by.is_supervisor:
                    raise NotYours(conversation_id)
                # a supervisor giving out a conversation nobody has served yet assigns it: no transfer
                # (the customer hears nothing, the cap and the senior lane do not count it)
                assigning = governed and is_assignment(by, conversation)
                count = len(people_moves(packet.transfers))
                if governed and not by.is_supervisor:
                    self.govern(packet.transfers, move, rules.transfers.max_per_conversation)
                queue, priority, target = self._destination(
                    conversation, move, count if governed and not assigning else -1, now
                )
                if assigning:  # for the agent who takes it: who gave it out and why
                    packet.assignments.append(_assignment(conversation, move, queue, by, now))
                else:
                    record = self._record(conversation, move, queue, by, now)
                    packet.transfers.append(record.model_copy(update={"requeue": not governed}))
                packet.queue, packet.priority = queue, priority.value
                team = self._team(conversation, queue)
                told = (
                    self._tell_customer(conversation, team, move.customer_reason, now)
                    if governed and not assigning
                    else None
                )
                # an agent given a waiting conversation took it: service level and abandonment see it
                waited_in = conversation.queue if assigning and target is not None else None
                waited = (
                    kpis.waited(
                        pipe,
                        conversation.phone_number_id,
                        waited_in,
                        conversation_id,
                        now,
                        packet.escalation.at,
                    )
                    if waited_in
                    else 0.0
                )
                pipe.multi()
                if waited_in and target is not None:
                    spec = rules.queues.get(waited_in)
                    sla = spec.sla_seconds if spec else None
                    kpis.taken(pipe, waited_in, waited, sla, now, agent_id=target.id)
                if governed and by.is_supervisor and conversation.agent_id != by.id:
                    audit_supervisor_move(pipe, by, conversation, queue, target, move, now)
                self.store.save_packet(pipe, packet)
                if told is not None:
                    entry, job = told
                    self.store.queue_reply(pipe, conversation_id, entry, job)
                assigned = {"assignment": True} if assigning else {}
                moved = Event(
                    "transferred",
                    agent_id=target.id if target else None,
                    queue=queue,
                    data={"reason": move.reason, "by": by.id, **assigned},
                )
                events = [moved, *_offer_ended(conversation, move.reason)]
                self.lifecycle.move(
                    pipe,
                    conversation,
                    ConversationState.ASSIGNED if target else ConversationState.QUEUED,
                    now,
                    holder=target.id if target else None,
                    queue=queue,
                    priority=priority,
                    # it has waited since it first asked for a person: ahead of those who asked later
                    waiting_since=packet.escalation.at,
                    drop=WARM_OFFER_FIELDS if conversation.state == ConversationState.TRANSFERRING else (),
                    events=events,
                    # people's transfers only: not an assignment, not the handover's own requeue
                    count=["transfers:cold"] if governed and not assigning else [],
                )
                pipe.execute()
            except redis.WatchError as exc:
                raise Conflict("the conversation changed meanwhile: try again") from exc
        return self._fresh(conversation_id)

    @staticmethod
    def _record(
        conversation: Conversation, move: TransferRequest, queue: str, by: Agent, now: float
    ) -> Transfer:
        return Transfer.model_validate(
            {
                "from": conversation.agent_id or f"queue:{conversation.queue}",
                "to": move.to_agent or f"queue:{queue}",
                "mode": "cold",
                "reason": move.reason,
                "note": move.note,
                "customer_reason": move.customer_reason,
                "at": now,
                "by": by.id,
            }
        )

    @staticmethod
    def govern(transfers: list[Transfer], move: TransferRequest, cap: int) -> None:
        """What an agent (not a supervisor) may not do: move it past the cap, or straight back. The
        handover's own requeues (an agent offline, removed or silent) are not people's moves: not counted."""
        moves = people_moves(transfers)
        if len(moves) >= cap:
            raise Conflict(f"moved {len(moves)} times already: only a supervisor may move it again")
        previous = moves[-1].from_ if moves else None
        if move.to_agent is not None and move.to_agent == previous:
            raise Conflict("straight back to the agent it came from: only a supervisor may do that")

    def _destination(
        self, conversation: Conversation, move: TransferRequest, count: int, now: float
    ) -> tuple[str, Priority, Agent | None]:
        rules = self.rules(conversation.phone_number_id).rules
        priority = Priority(conversation.priority or "normal")
        queue = move.to_queue or conversation.queue or next(iter(rules.queues))
        if move.to_queue is not None and move.to_queue not in rules.queues:
            raise NotFound(f"queue {move.to_queue}")
        senior = rules.transfers.senior_queue
        if count + 1 >= rules.transfers.senior_lane_after and senior is not None and move.to_agent is None:
            return senior, _RAISED[priority], None  # moved around too often: the senior lane, sooner
        if move.to_agent is None:
            return queue, priority, None
        target = self._agent(move.to_agent)
        if target.status is not Presence.AVAILABLE:
            raise Unavailable(f"{target.name} is {target.status}")
        if self.agents.load(target.id) >= target.capacity:
            raise Conflict(f"{target.name} is at capacity")
        return queue, priority, target

    def _agent(self, agent_id: str) -> Agent:
        try:
            return self.agents.get(agent_id)
        except UnknownAgent:
            raise NotFound(f"agent {agent_id}") from None

    def _first_queue(self, conversation: Conversation) -> str:
        return next(iter(self.rules(conversation.phone_number_id).rules.queues))

    def _number(self, conversation_id: str) -> str | None:
        """The conversation's business number, whose rules govern its moves (None: not found)."""
        conversation = self.store.conversation(conversation_id)
        return conversation.phone_number_id if conversation is not None else None

    def _load(self, conversation_id: str) -> tuple[Conversation, ContextPacket]:
        conversation = self.store.conversation(conversation_id)
        packet = self.store.packet(conversation_id)
        if conversation is None or packet is None:
            raise NotFound(conversation_id)
        return conversation, packet

    def _fresh(self, conversation_id: str) -> Conversation:
        conversation = self.store.conversation(conversation_id)
        assert conversation is not None
        return conversation

    def _team(self, conversation: Conversation, queue: str) -> str:
        """A queue as the customer reads it: its label in their language, else its name."""
        rules = self.rules(conversation.phone_number_id).rules
        language = conversation.bot.language or rules.default_language
        label = rules.queues[queue].label if queue in rules.queues else None
        return (label or {}).get(language) or queue

    def _tell_customer(
        self,
        conversation: Conversation,
        to: str,
        customer_reason: str | None,
        now: float,
        *,
        person: bool = False,
    ) -> tuple[TranscriptEntry, OutboundJob] | None:
        """Who takes over, as handover/rules/texts.py `transferred` words it, while the window is open."""
        rules = self.rules(conversation.phone_number_id).rules
        if not conversation.is_window_open(now):
            return None
        text = transferred(rules, conversation.bot.language, to, customer_reason, person=person)
        if text is None:
            return None
        request = text_request(conversation, text)
        return reply(conversation, request, "system", now, self.partitions)


def _offer_ended(conversation: Conversation, why: str) -> list[Event]:
    """Moved while its agent offered it to a colleague (warm): the colleague's desk hears it is gone."""
    if conversation.state != ConversationState.TRANSFERRING or not conversation.offer_to:
        return []
    return [Event("offer_withdrawn", agent_id=conversation.offer_to, data={"why": why})]


def _assignment(
    conversation: Conversation, move: TransferRequest, queue: str, by: Agent, now: float
) -> Assignment:
    return Assignment.model_validate(
        {
            "from": f"queue:{conversation.queue}",
            "to": move.to_agent or f"queue:{queue}",
            "reason": move.reason,
            "note": move.note,
            "at": now,
            "by": by.id,
        }
    )


def is_assignment(by: Agent, conversation: Conversation) -> bool:
    """A supervisor moving a conversation still waiting (queued, or offered by the assigner) assigns it:
    nobody has spoken to the customer yet. One an agent holds was being served: moving it is a transfer,
    whoever moves it."""
    return by.is_supervisor and conversation.state == ConversationState.QUEUED


def audit_supervisor_move(
    pipe: redis.client.Pipeline,
    by: Agent,
    conversation: Conversation,
    queue: str | None,
    target: Agent | None,
    move: TransferRequest,
    now: float,
) -> None:
    """A supervisor moving (or offering, warm) a conversation they do not hold is audited, in the
    transaction that does it; `kind` says whether it was an assignment (it was waiting) or a transfer."""
    detail = {
        "conversation_id": conversation.id,
        "kind": "assignment" if is_assignment(by, conversation) else "transfer",
        "mode": move.mode,
        "from_agent": conversation.agent_id,
        "from_queue": conversation.queue,
        "reason": move.reason,
    }
    if target is not None:
        detail |= {"to_agent": target.id, "to_agent_name": target.name}
        action = audit.AuditAction.CONVERSATIONS_ASSIGN
    else:
        detail |= {"to_queue": queue}
        action = audit.AuditAction.CONVERSATIONS_MOVE
    audit.write(pipe, f"{by.name} ({by.id})", action, detail, clock=lambda: now)
