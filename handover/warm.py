"""Warm (assisted) transfers: the target agent is offered the conversation with a note and must accept in
time; until then the original agent keeps it, and a decline or a timeout hands the decision back."""

from __future__ import annotations

from handover.agents import Agent, Presence
from handover.assignment.offers import OfferIndex
from handover.conversation import WARM_OFFER_FIELDS, Conversation, ConversationState
from handover.errors import Conflict, NotYours, Unavailable
from handover.lifecycle import Event
from handover.packet import ContextPacket, Transfer
from handover.transfers import TransferRequest, Transfers, audit_supervisor_move
from handover.unit import guarded


class WarmTransfers(Transfers):
    """Offers, accepts, declines and expiries; shares the cold transfers' loading, lookups and wording."""

    def offer(self, by: Agent, conversation_id: str, move: TransferRequest) -> Conversation:
        """Offer the conversation to `move.to_agent`; the same governance as a cold transfer applies."""
        now = self.clock()
        if move.to_agent is None or move.to_queue is not None:
            raise Conflict("a warm transfer goes to one agent: give to_agent")
        self.check_customer_reason(move, self._number(conversation_id))
        target = self._agent(move.to_agent)
        if target.id == by.id:
            raise Conflict("that is you")
        if target.status is not Presence.AVAILABLE:
            raise Unavailable(f"{target.name} is {target.status}")
        with guarded(self.client, conflict="the conversation changed meanwhile: try again") as pipe:
            self.store.watch(pipe, conversation_id)
            conversation, packet = self._load(conversation_id)
            transfers = self.rules(conversation.phone_number_id).rules.transfers
            timeout = transfers.warm_timeout_seconds
            if conversation.state != ConversationState.ASSIGNED:
                raise Conflict(f"conversation is {conversation.state}")
            if conversation.agent_id != by.id and not by.is_supervisor:
                raise NotYours(conversation_id)
            if not by.is_supervisor:
                Transfers.govern(packet.transfers, move, transfers.max_per_conversation)
            pipe.multi()
            if by.is_supervisor and conversation.agent_id != by.id:
                audit_supervisor_move(pipe, by, conversation, None, target, move, now)
            offered = Event(
                "transfer_offered",
                agent_id=target.id,
                data={"reason": move.reason, "note": move.note, "by": by.id},
            )
            self.lifecycle.move(
                pipe,
                conversation,
                ConversationState.TRANSFERRING,
                now,
                fields={
                    "offer_to": target.id,
                    "offer_by": by.id,
                    "offer_reason": move.reason,
                    "offer_customer_reason": move.customer_reason or "",
                    "offer_note": move.note or "",
                    "offer_expires_at": str(now + timeout),
                },
                events=[offered],
            )
        return self._fresh(conversation_id)

    def accept(self, target: Agent, conversation_id: str) -> Conversation:
        now = self.clock()
        with guarded(self.client, conflict="the conversation changed meanwhile: try again") as pipe:
            self.store.watch(pipe, conversation_id)
            conversation, packet = self._offered_to(target, conversation_id)
            if self.agents.load(target.id) >= target.capacity:
                raise Conflict(f"at capacity ({target.capacity} conversations)")
            previous = conversation.agent_id or ""
            packet.transfers.append(
                Transfer.model_validate(
                    {
                        "from": previous,
                        "to": target.id,
                        "mode": "warm",
                        "reason": conversation.offer_reason or "",
                        "note": conversation.offer_note or None,
                        "customer_reason": conversation.offer_customer_reason or None,
                        "at": now,
                        "by": conversation.offer_by,
                    }
                )
            )
            told = self._tell_customer(
                conversation, target.name, conversation.offer_customer_reason or None, now, person=True
            )
            pipe.multi()
            self.store.save_packet(pipe, packet)
            if told is not None:
                entry, job = told
                self.store.queue_reply(pipe, conversation_id, entry, job)
            accepted = Event("transfer_accepted", agent_id=previous, data={"by": target.id})
            self.lifecycle.move(
                pipe,
                conversation,
                ConversationState.ASSIGNED,
                now,
                holder=target.id,
                drop=WARM_OFFER_FIELDS,
                events=[accepted],
                count=["transfers:warm"],
            )
        return self._fresh(conversation_id)

    def decline(self, target: Agent, conversation_id: str) -> Conversation:
        self._offered_to(target, conversation_id)
        self._withdraw(conversation_id, "declined", self.clock())
        return self._fresh(conversation_id)

    def expire_offers(self) -> int:
        """Offers nobody accepted in time go back to the agent who made them."""
        now = self.clock()
        due = OfferIndex(self.client).due_offers(now)
        for conversation_id in due:
            self._withdraw(conversation_id, "timeout", now)
        return len(due)

    def withdraw_offers_to(self, agent_id: str, why: str) -> list[str]:
        """The agent left (removed): what colleagues offered them goes back to those colleagues."""
        now = self.clock()
        offered = OfferIndex(self.client).warm_offers_to(agent_id)
        for conversation_id in offered:
            self._withdraw(conversation_id, why, now)
        return offered

    def _withdraw(self, conversation_id: str, why: str, now: float) -> None:
        with guarded(self.client, conflict="the conversation changed meanwhile: try again") as pipe:
            self.store.watch(pipe, conversation_id)
            conversation = self.store.conversation(conversation_id)
            pipe.multi()
            if conversation is None or conversation.state != ConversationState.TRANSFERRING:
                self.lifecycle.forget_offer(pipe, conversation_id)
            else:
                declined = Event(
                    "transfer_declined",
                    agent_id=conversation.agent_id,
                    data={"why": why, "by": conversation.offer_to},
                )
                self.lifecycle.move(
                    pipe,
                    conversation,
                    ConversationState.ASSIGNED,
                    now,
                    drop=WARM_OFFER_FIELDS,
                    events=[declined],
                )

    def _offered_to(self, target: Agent, conversation_id: str) -> tuple[Conversation, ContextPacket]:
        conversation, packet = self._load(conversation_id)
        if conversation.state != ConversationState.TRANSFERRING:
            raise Conflict(f"conversation is {conversation.state}")
        if conversation.offer_to != target.id:
            raise NotYours(conversation_id)
        return conversation, packet
