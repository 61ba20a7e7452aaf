"""Private notes: what an agent or supervisor writes for colleagues on a conversation. Kept in its transcript
(direction `note`, never sent to the customer) and in its packet, so they travel with transfers and reach
whoever takes over next."""

from __future__ import annotations

import uuid

import redis

from handover.agents import Agent
from handover.clock import Clock, system_clock
from handover.conversation import Conversation, ConversationState
from handover.errors import Conflict
from handover.events import publish
from handover.packet import Note
from handover.store import Store
from handover.transcript import TranscriptEntry


def note_entry(agent: Agent, conversation: Conversation, text: str, at: float) -> TranscriptEntry:
    return TranscriptEntry(
        id=f"note.{uuid.uuid4().hex}",
        direction="note",
        at=at,
        seq=conversation.entry_count,
        kind="note",
        author=f"agent:{agent.id}",
        text=text,
        content={"by_name": agent.name},
    )


class Notes:
    def __init__(self, store: Store, clock: Clock = system_clock) -> None:
        self.store = store
        self.clock = clock

    def add(
        self, agent: Agent, conversation: Conversation, text: str, now: float | None = None
    ) -> TranscriptEntry:
        """Write a note on a conversation the caller checked the agent may see; one transaction puts it in
        the transcript, the packet (when the conversation has one) and the desk's events."""
        now = self.clock() if now is None else now
        entry = note_entry(agent, conversation, text, now)
        with self.store.client.pipeline(transaction=True) as pipe:
            try:
                self.store.watch(pipe, conversation.id, packet_only=True)  # a transfer rewrites it
                packet = self.store.packet(conversation.id)
                pipe.multi()
                self.store.append_entry(pipe, conversation.id, entry)
                if packet is not None:
                    packet.notes.append(Note(by=agent.id, by_name=agent.name, at=now, text=text))
                    self.store.save_packet(pipe, packet)
                waiting = conversation.state == ConversationState.QUEUED
                publish(
                    pipe,
                    "note_added",
                    conversation.id,
                    agent_id=conversation.agent_id,
                    queue=conversation.queue if waiting else None,
                    by=agent.id,
                )
                pipe.execute()
            except redis.WatchError as exc:
                raise Conflict("the conversation changed meanwhile: try again") from exc
        return entry
