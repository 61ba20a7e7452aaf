"""The handover domain in one process on one fake Redis server, wired as the worker wires it: Store,
AgentStore, the rule bot with the shipped rules, Processor, Assignments and Transfers, all on one FixedClock.

Unit tests make a `World`, ingest customer turns as the webhook does, and `drain_all()` until nothing is
pending, instead of repeating the fakeredis + Processor + drain setup in every module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import fakeredis
import redis
import redis.asyncio

from handover.agents import Agent, AgentStore, Presence, Role
from handover.assignment.claims import Assignments
from handover.assignment.queues import RedisQueueView
from handover.bot import Bot
from handover.clock import FixedClock
from handover.conversation import Conversation
from handover.identity import FileDirectory
from handover.keys import Lane
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.rules.bot import RuleBot
from handover.rules.loader import LoadedRules, load_rules
from handover.store import Store
from handover.traffic.enqueue import InboundItem, IngestResult, ingest
from handover.traffic.outbound import Sender, SendMany
from handover.traffic.processing import Processor
from handover.traffic.streams import drain, ensure_groups
from handover.transfers import Transfers
from tests.support.webhook import body, edit_message
from webhooks.normalize import normalize

CONFIG = Path(__file__).resolve().parents[2] / "config"
RULES = load_rules(CONFIG / "rules.yaml")
T0 = 1_800_000_000.0  # a Friday, 14:40 in São Paulo: every queue is open
PNID = "PN"
MAX_ROUNDS = 20  # drain_all gives up (and fails the test) rather than loop forever on work that regrows


class World:
    """Everything a worker and a desk share, on `server` (a new fake server unless one is given, e.g. the
    one an in-test app writes to). `bot`: the rule bot over `rules` unless told; `send_many`: when given,
    drain_all() also drains the outbound lane through a Sender with it (else sends stay in their streams).
    `redis_url`: on that real Redis instead (integration tests; `close()` it at the end)."""

    def __init__(
        self,
        *,
        partitions: int = 2,
        rules: LoadedRules = RULES,
        now: float = T0,
        bot: Bot | None = None,
        send_many: SendMany | None = None,
        transcript_max: int | None = None,
        batch_size: int = 50,
        server: fakeredis.FakeServer | None = None,
        redis_url: str | None = None,
    ) -> None:
        self.sync: redis.Redis
        self.aclient: redis.asyncio.Redis
        if redis_url is not None:
            self.sync = redis.Redis.from_url(redis_url, decode_responses=True)
            self.aclient = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        else:
            self.server = server or fakeredis.FakeServer()
            self.sync = fakeredis.FakeRedis(server=self.server, decode_responses=True)
            self.aclient = fakeredis.FakeAsyncRedis(server=self.server, decode_responses=True)
        ensure_groups(self.sync, partitions)
        self.partitions = partitions
        self.batch_size = batch_size
        self.clock = FixedClock(now)
        self.loaded: Callable[..., LoadedRules] = lambda *_: rules
        self.store = (
            Store(self.sync) if transcript_max is None else Store(self.sync, transcript_max=transcript_max)
        )
        self.agents = AgentStore(self.sync)
        self.bot: Bot = bot or RuleBot(
            self.loaded,
            RedisQueueView(self.sync, self.clock),
            FileDirectory(CONFIG / "customers.yaml"),
            clock=self.clock,
        )
        self.processor = Processor(
            store=self.store, bot=self.bot, partitions=partitions, clock=self.clock, rules=self.loaded
        )
        self.sender = None if send_many is None else Sender(store=self.store, send_many=send_many)
        self.assignments = Assignments(self.store, partitions, self.loaded, clock=self.clock)
        self.transfers = Transfers(self.store, self.agents, self.loaded, partitions, clock=self.clock)
        self._said = 0

    async def close(self) -> None:
        await self.aclient.aclose()
        self.sync.close()

    async def ingest(self, *items: InboundItem) -> IngestResult:
        """What the webhook does with a POST's items: stored once each, drainers woken."""
        return await ingest(self.aclient, list(items), self.partitions)

    def drain_inbound(self) -> int:
        """One pass over every inbound partition; how many entries it handled."""
        return sum(
            drain(
                self.sync, Lane.INBOUND, p, self.processor.handle, batch_size=self.batch_size, lease_seconds=5
            )
            for p in range(self.partitions)
        )

    def drain_outbound(self) -> int:
        """One pass over every outbound partition through the Sender (there must be one)."""
        assert self.sender is not None, "a World made without send_many sends nothing"
        handle = self.sender.handle
        return sum(
            drain(self.sync, Lane.OUTBOUND, p, handle, batch_size=self.batch_size, lease_seconds=5)
            for p in range(self.partitions)
        )

    def drain_all(self) -> int:
        """Inbound, then outbound when there is a Sender, again until a pass finds nothing pending."""
        handled = 0
        for _ in range(MAX_ROUNDS):
            done = self.drain_inbound() + (self.drain_outbound() if self.sender else 0)
            if not done:
                return handled
            handled += done
        raise AssertionError(f"still draining after {MAX_ROUNDS} rounds")

    async def deliver(self, *items: InboundItem) -> IngestResult:
        """Ingest the items, then drain until nothing is pending."""
        result = await self.ingest(*items)
        self.drain_all()
        return result

    def customer(self, wa_id: str, profile_name: str | None = "Cliente") -> CustomerRef:
        return CustomerRef(phone_number_id=PNID, wa_id=wa_id, profile_name=profile_name)

    async def says(
        self, wa_id: str, text: str | None = None, button: str | None = None, at: float | None = None
    ) -> Conversation:
        """The customer writes `text` (or taps `button`) at WhatsApp time `at` (the clock's, unless told),
        the worker handles it; the customer's current conversation after it."""
        self._said += 1
        customer = self.customer(wa_id)
        message = InboundMessage(
            id=f"wamid.{self._said}",
            customer=customer,
            timestamp=int(self.clock() if at is None else at),
            kind=InboundKind.BUTTON_REPLY if button else InboundKind.TEXT,
            wa_type="interactive" if button else "text",
            text=text,
            reply_id=button,
        )
        await self.deliver(InboundItem(type="message", message=message))
        return self.current(wa_id)

    async def edits(self, wa_id: str, original_id: str, text: str) -> Conversation:
        """The customer edits their message `original_id` to say `text`, as Meta's webhook tells it (read by
        the real normaliser); the worker handles it."""
        self._said += 1
        edit = edit_message(f"wamid.{self._said}", wa_id, original_id, text, int(self.clock()))
        [message] = normalize(body([edit], pnid=PNID)).messages
        await self.deliver(InboundItem(type="message", message=message))
        return self.current(wa_id)

    def current(self, wa_id: str) -> Conversation:
        """The customer's current conversation (there must be one)."""
        conversation = self.store.current_conversation(self.customer(wa_id))
        assert conversation is not None, wa_id
        return conversation

    def available_agent(
        self, name: str, queues: list[str], capacity: int = 3, role: Role = Role.AGENT
    ) -> Agent:
        """An agent added as ops would, then made available."""
        created, _ = self.agents.add(name, queues, capacity=capacity, role=role)
        self.agents.set_status(created.id, Presence.AVAILABLE)
        return self.agents.get(created.id)
