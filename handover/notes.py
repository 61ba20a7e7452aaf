"""Private notes: what an agent or supervisor writes for colleagues on a conversation. Kept in its transcript
(direction `note`, never sent to the customer) and in its packet, so they travel with transfers and reach
whoever takes over next.

Only on an open conversation (queued, assigned, transferring): a closed one, an earlier one of the customer's,
is read-only (409 `conversation_closed`). At most `most` notes on one conversation (409 `too_many_notes`),
kept outside the transcript's cap, which trims only messages (lua/append_entry.lua); at most `per_minute`
notes by one agent in a minute (429 `too_many_notes_per_minute`, counted in Redis)."""

from __future__ import annotations

import math
import uuid

import redis

from handover import keys
from handover.agents import Agent
from handover.clock import Clock, system_clock
from handover.conversation import Conversation, ConversationState
from handover.errors import Closed, RateLimited, TooManyNotes
from handover.events import publish
from handover.packet import Note
from handover.store import Store
from handover.transcript import NOTE_PREFIX, TranscriptEntry
from handover.unit import guarded

NOTES_MAX = 200  # HANDOVER_NOTES_MAX
NOTES_PER_MINUTE = 30  # HANDOVER_NOTES_PER_MINUTE
OPEN = (ConversationState.QUEUED, ConversationState.ASSIGNED, ConversationState.TRANSFERRING)


def writable(conversation: Conversation) -> Conversation:
    """The conversation, if notes may be written on it now (Closed otherwise: it is read-only)."""
    if conversation.state not in OPEN:
        raise Closed(f"conversation {conversation.id} is {conversation.state.value}: read-only")
    return conversation


def note_entry(agent: Agent, conversation: Conversation, text: str, at: float) -> TranscriptEntry:
    return TranscriptEntry(
        id=f"{NOTE_PREFIX}{uuid.uuid4().hex}",
        direction="note",
        at=at,
        seq=conversation.entry_count,
        kind="note",
        author=f"agent:{agent.id}",
        text=text,
        content={"by_name": agent.name},
    )


class Notes:
    def __init__(
        self,
        store: Store,
        clock: Clock = system_clock,
        most: int = NOTES_MAX,
        per_minute: int = NOTES_PER_MINUTE,
    ) -> None:
        self.store = store
        self.clock = clock
        self.most = most
        self.per_minute = per_minute

    def add(self, agent: Agent, conversation: Conversation, text: str) -> TranscriptEntry:
        """Write a note on an open conversation the caller checked the agent may write on (the holder, the
        agent offered it, an agent of its queue while it waits, supervisors); one transaction puts it in
        the transcript, the packet (when the conversation has one) and the desk's events."""
        now = self.clock()
        writable(conversation)
        self._count(agent, now)
        entry = note_entry(agent, conversation, text, now)
        with guarded(self.store.client, conflict="the conversation changed meanwhile: try again") as pipe:
            self.store.watch(pipe, conversation.id, packet_only=True)  # a transfer rewrites it
            current = self.store.conversation(conversation.id)
            if current is None or current.state not in OPEN:
                raise Closed(f"conversation {conversation.id} was closed meanwhile: read-only")
            packet = self.store.packet(conversation.id)
            # the packet's and the transcript's notes: both stay within the cap
            in_packet = len(packet.notes) if packet is not None else 0
            written = max(in_packet, _in_transcript(self.store.client, conversation.id))
            if written >= self.most:
                raise TooManyNotes(f"at most {self.most} notes on one conversation")
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
        return entry

    def _count(self, agent: Agent, now: float) -> None:
        """One more note by `agent` in this minute; RateLimited past `per_minute` (refused ones count too)."""
        minute = int(now // 60)
        if _written(self.store.client, agent.id, minute) > self.per_minute:
            raise RateLimited(
                f"at most {self.per_minute} notes a minute per agent",
                math.ceil((minute + 1) * 60 - now),
                code="too_many_notes_per_minute",
            )


def _written(client: redis.Redis, agent_id: str, minute: int) -> int:
    """One more note by the agent in `minute` (since the epoch): how many now."""
    key = keys.note_rate_key(agent_id, minute)
    with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 120)
        written, _ = pipe.execute()
    return int(written)


def _in_transcript(client: redis.Redis, conversation_id: str) -> int:
    """The conversation's notes kept in its transcript (ids starting with NOTE_PREFIX)."""
    ids = client.zrange(keys.transcript_key(conversation_id), 0, -1)
    return sum(1 for i in ids if keys.as_text(i).startswith(NOTE_PREFIX))
