"""The mixed bench's customers on the wire: each posts its next message only once the bot has answered the
last one in full (the messages seen arriving at the fake Graph API, or the read receipt of a message the
bot takes in silence) and a think time has passed. Many customers at once, in two ways:

closed loop: a fixed number of customers writing as fast as answers come (a finished conversation is
    replaced by a new customer at once): what the system sustains;
open loop: a scheduler posting at a fixed aggregate rate, taking the customers who are ready (answered,
    done thinking) and starting new ones whenever none is, so the offered rate never waits for answers
    while every customer still does.

Most POSTs hold one message; BATCHED of them hold 2 to 5 of different customers, as Meta batches.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.customers import Identity, Script, message, pick
from tests.support.webhook import body, signed

NUMBERS = itertools.count()  # customers' numbers, never reused within a run: each is a new conversation
WAIT_SECONDS = 30.0  # an answer later than this counts as never (math.inf in the latencies)
BATCHED = 0.1
LAG_TICK = 0.01  # seconds between the load generator's own wake-ups, timed to see if it kept up


@dataclass
class Waiter:
    """A customer waiting for the bot's `expected` messages after posting at `started`."""

    started: float
    expected: int
    done: asyncio.Future[float]
    first: float = math.nan
    got: int = 0


class Replies:
    """What the fake Graph API received (bench/graph_process.py lines), as it arrives."""

    def __init__(self) -> None:
        self.waiting: dict[str, Waiter] = {}  # wa_id -> its customer's wait for messages
        self.receipts: dict[str, asyncio.Future[float]] = {}  # message id -> its customer's wait
        self.messages = 0
        self.read = 0

    async def follow(self, lines: asyncio.StreamReader) -> None:
        async for line in lines:
            self.feed(line.decode())

    def feed(self, line: str) -> None:
        kind, at_text, about = line.split(" ", 2)
        about, at = about.strip(), float(at_text)
        if kind == "r":
            self.read += 1
            receipt = self.receipts.pop(about, None)
            if receipt is not None and not receipt.done():
                receipt.set_result(at)
            return
        self.messages += 1
        waiter = self.waiting.get(about)
        if waiter is None or at < waiter.started:
            return  # an agent's reply, the survey, or the rest of an answer nobody waits for
        waiter.got += 1
        if waiter.got == 1:
            waiter.first = at
        if waiter.got >= waiter.expected:
            del self.waiting[about]
            if not waiter.done.done():
                waiter.done.set_result(waiter.first)


@dataclass
class Customer:
    wa_id: str
    script: Script
    step: int = 0


@dataclass
class Tally:
    """What one phase sent and saw."""

    posts: int = 0
    messages: int = 0
    refusals: int = 0  # POSTs not answered 200 (each delivered again after Retry-After, as Meta does)
    failed: int = 0  # messages never stored: refused until the phase ended or WAIT_SECONDS passed
    acks: list[float] = field(default_factory=list)  # seconds the webhook took to answer 200
    unanswered: int = 0  # messages whose answer did not come within WAIT_SECONDS
    latencies: list[float] = field(default_factory=list)  # webhook -> first reply, s (inf: never, refused)
    silent: int = 0  # messages taken in silence (read receipt seen, no reply to time)
    started: int = 0  # conversations
    meant: int = 0  # of those, scripted to reach a person
    replies: int = 0  # messages the bot owes for what was stored (each turn's count)
    finished: int = 0
    handed_over: int = 0  # finished conversations whose script reaches a person
    seconds: float = 0.0
    lag: list[float] = field(default_factory=list)  # how late this process's loop woke (LAG_TICK apart)


class Traffic:
    """One phase's customers posting to `url`; `think` is the range of a customer's pause, in seconds."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        replies: Replies,
        people: list[Identity],
        seed: int,
        think: tuple[float, float],
    ) -> None:
        self.session, self.url, self.replies, self.people = session, url, replies, people
        self.rng = random.Random(seed)
        self.think = think
        self.run = uuid.uuid4().hex[:8]
        self.ids = itertools.count()
        self.ready: asyncio.Queue[Customer] = asyncio.Queue()
        self.tasks: set[asyncio.Task[None]] = set()
        self.tally = Tally()
        self.stopping = False
        self.on_finished: Callable[[], None] = lambda: None

    def newcomer(self) -> Customer:
        script = pick(self.rng, self.people)
        self.tally.started += 1
        self.tally.meant += script.escalates
        return Customer(f"55{self.rng.randrange(11, 99)}9{next(NUMBERS):08d}", script)

    def _group(self, first: Customer | None, newcomers: bool) -> list[Customer]:
        """One customer, or (BATCHED of the POSTs) 2 to 5: those ready now, then newcomers if allowed."""
        size = self.rng.randint(2, 5) if self.rng.random() < BATCHED else 1
        group = [first] if first is not None else []
        while len(group) < size:
            if not self.ready.empty():
                group.append(self.ready.get_nowait())
            elif newcomers or not group:
                group.append(self.newcomer())
            else:
                break
        return group

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task of the phase's (the phase waits for them all when it stops)."""
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def closed(self, customers: int, seconds: float) -> Tally:
        """`customers` customers writing back-to-back for `seconds`."""
        self.on_finished = lambda: self.ready.put_nowait(self.newcomer())
        for _ in range(customers):
            self.ready.put_nowait(self.newcomer())
        started = time.perf_counter()
        self._start(self._lag())
        deadline = started + seconds
        while (left := deadline - time.perf_counter()) > 0:
            try:
                first = await asyncio.wait_for(self.ready.get(), left)
            except TimeoutError:
                break
            self._start(self._post(self._group(first, newcomers=False)))  # a closed loop keeps its number
        return await self._stop(started)

    async def open(self, rate: float, seconds: float) -> Tally:
        """Messages posted at `rate` a second for `seconds`, whatever the answers."""
        started = time.perf_counter()
        self._start(self._lag())
        sent = 0
        while (now := time.perf_counter()) - started < seconds:
            due = started + sent / rate
            if due > now:
                await asyncio.sleep(due - now)
            group = self._group(None, newcomers=True)
            self._start(self._post(group))
            sent += len(group)
        return await self._stop(started)

    async def _lag(self) -> None:
        """How late the event loop wakes while the phase runs: when it is late, so are the POSTs and the
        clock readings, and the latencies show the load generator rather than the system."""
        while not self.stopping:
            due = time.perf_counter() + LAG_TICK
            await asyncio.sleep(LAG_TICK)
            self.tally.lag.append(time.perf_counter() - due)

    async def _stop(self, started: float) -> Tally:
        """No customer writes again; wait for the answers to what was sent (so the slowest count too)."""
        self.tally.seconds = time.perf_counter() - started
        self.stopping = True
        if self.tasks:
            await asyncio.gather(*self.tasks)
        return self.tally

    async def _post(self, group: list[Customer]) -> None:
        loop = asyncio.get_running_loop()
        stamp = int(time.time())
        said = [
            (c, f"wamid.bench.{self.run}.{next(self.ids)}", c.script.turns[c.step].replies) for c in group
        ]
        raw, headers = signed(body([message(c.script.turns[c.step], c.wa_id, m, stamp) for c, m, _ in said]))
        started = time.perf_counter()
        waits = []
        for customer, message_id, replies in said:
            done: asyncio.Future[float] = loop.create_future()
            if replies:
                self.replies.waiting[customer.wa_id] = Waiter(started, replies, done)
            else:
                self.replies.receipts[message_id] = done
            waits.append(done)
        self.tally.posts += 1
        self.tally.messages += len(group)
        if not await self._delivered(raw, headers, started):
            self.tally.failed += len(group)  # never stored: the customers give up
            for customer, message_id, replies in said:
                self.replies.waiting.pop(customer.wa_id, None)
                self.replies.receipts.pop(message_id, None)
                if replies:
                    self.tally.latencies.append(math.inf)
                if not self.stopping:
                    self.on_finished()
            return
        self.tally.replies += sum(replies for _, _, replies in said)
        answers = zip(group, waits, strict=True)
        await asyncio.gather(*(self._answered(customer, done, started) for customer, done in answers))

    async def _delivered(self, raw: bytes, headers: dict[str, str], started: float) -> bool:
        """POST until answered 200, as Meta delivers a webhook again after a refusal (after Retry-After);
        False when the phase ends or WAIT_SECONDS pass first."""
        while True:
            attempt = time.perf_counter()
            try:
                async with self.session.post(self.url, data=raw, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        self.tally.acks.append(time.perf_counter() - attempt)
                        return True
                    pause = float(response.headers.get("Retry-After", 1))
            except aiohttp.ClientError:
                pause = 1.0
            self.tally.refusals += 1
            if self.stopping or time.perf_counter() + pause - started > WAIT_SECONDS:
                return False
            await asyncio.sleep(pause)

    async def _answered(self, customer: Customer, done: asyncio.Future[float], started: float) -> None:
        turn = customer.script.turns[customer.step]
        try:
            first = await asyncio.wait_for(done, WAIT_SECONDS)
        except TimeoutError:
            self.replies.waiting.pop(customer.wa_id, None)
            if turn.replies:
                self.tally.latencies.append(math.inf)
                self.tally.unanswered += 1
            if not self.stopping:
                self.on_finished()  # the customer gives up: in a closed loop another takes their place
            return
        if turn.replies:
            self.tally.latencies.append(first - started)
        else:
            self.tally.silent += 1
        customer.step += 1
        if customer.step == len(customer.script.turns):
            self.tally.finished += 1
            self.tally.handed_over += customer.script.escalates
            if not self.stopping:
                self.on_finished()
            return
        await asyncio.sleep(self.rng.uniform(*self.think))
        if not self.stopping:
            self.ready.put_nowait(customer)
