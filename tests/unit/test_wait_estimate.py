"""The wait estimate a queued customer is told (handover/waits.py through RedisQueueView and the rule bot):
a simulated day replayed through the real code — arrivals, agents serving at a steady rate, a closed night
in between — tells at least 80% of customers a wait within ±30% of the one they then had; and waits that
began outside business hours (the night's, served in the morning) do not move it."""

from __future__ import annotations

import heapq
import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from handover import keys
from handover.agents import Agent
from handover.assignment.queues import RedisQueueView
from handover.hours import is_open, next_opening
from handover.rules.model import Priority
from handover.waits import band_of
from tests.support.world import PNID, RULES, World

ZONE = ZoneInfo("America/Sao_Paulo")
HOURS = RULES.rules.business_hours["store"]  # general: mon-fri 08:00-20:00
SERVICE_SECONDS = 9 * 60  # every agent takes 9 minutes a customer, then the next at once
AGENTS = 3  # ... so the queue moves one place every 3 minutes
TOLD = re.compile(r"espera estimada: (?:(\d+) min|menos de 1 minuto)")


def local(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZONE).timestamp()


def arrivals(rng: random.Random) -> list[float]:
    """Thursday 26 noon to Friday 27 noon: a busy afternoon (a customer every ~2.6 min, a little faster
    than the agents), quiet from 18:30 so the line is empty at closing; a dozen customers in the closed
    night (told when the store opens, no estimate; served first on Friday, their waits of hours would
    swamp the estimate); a busy Friday morning."""
    times: list[float] = []

    def busy(start: float, end: float, every: float) -> None:
        t = start
        while t < end:
            times.append(t)
            t += rng.uniform(0.5, 1.5) * every

    busy(local(26, 12), local(26, 18, 30), 160)
    busy(local(26, 20, 30), local(27, 7, 50), 3600)  # a dozen write in the night
    busy(local(27, 8, 2), local(27, 11, 30), 150)
    return sorted(times)


@dataclass(order=True)
class Happening:
    at: float
    seq: int
    kind: str = field(compare=False)  # arrives | free (an agent finished, or starts the shift)
    who: int = field(compare=False)


class Day:
    """The replay: the event queue, the customers' estimates as told and their waits as had."""

    def __init__(self, world: World, times: list[float]) -> None:
        self.world = world
        self.events: list[Happening] = []
        self.seq = 0
        self.agents: list[Agent] = [
            world.available_agent(f"Agente {n}", ["general"], capacity=1) for n in range(AGENTS)
        ]
        self.holding: dict[int, str] = {}
        self.idle: set[int] = set()
        self.told: dict[str, tuple[float, float | None]] = {}  # conversation -> (asked at, told seconds)
        self.taken: dict[str, float] = {}
        for n, t in enumerate(times):
            self.at(t, "arrives", n)
        for n in range(AGENTS):  # the shift starts staggered: the line moves evenly
            self.at(times[0] + n * SERVICE_SECONDS / AGENTS, "free", n)

    def at(self, t: float, kind: str, who: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, Happening(t, self.seq, kind, who))

    async def run(self) -> None:
        while self.events:
            event = heapq.heappop(self.events)
            self.world.clock.now = event.at
            if event.kind == "arrives":
                await self.arrives(event.who)
                for n in sorted(self.idle):
                    self.free(n)
            else:
                self.free(event.who)

    async def arrives(self, n: int) -> None:
        wa_id = f"5511{n:09d}"
        conversation = await self.world.says(wa_id, "quero falar com um atendente")
        said = [e.text or "" for e in self.world.store.transcript(conversation.id) if e.direction == "out"]
        found = TOLD.search(said[-1])
        told = None if found is None else (float(found.group(1)) * 60 if found.group(1) else 0.0)
        self.told[conversation.id] = (self.world.clock(), told)

    def free(self, n: int) -> None:
        now, agent = self.world.clock(), self.world.agents.get(self.agents[n].id)
        self.idle.discard(n)
        if n in self.holding:
            self.world.assignments.resolve(agent, self.holding.pop(n))
        if not is_open(HOURS, now):  # home for the night; back when the store opens, staggered again
            opening = next_opening(HOURS, now)
            assert opening is not None
            self.at(opening.timestamp() + n * SERVICE_SECONDS / AGENTS, "free", n)
            return
        taken = self.world.assignments.claim_next(agent)
        if taken is None:
            self.idle.add(n)
            return
        self.holding[n] = taken.id
        self.taken[taken.id] = now
        self.at(now + SERVICE_SECONDS, "free", n)


def close_enough(told: float, waited: float) -> bool:
    if told == 0.0:  # "menos de 1 minuto": anything under a minute is within 30% of some of it
        return waited <= 60 * 1.3
    return abs(told - waited) <= 0.3 * waited


async def test_a_replayed_day_tells_most_customers_a_wait_within_30_percent():
    times = arrivals(random.Random(27))
    world = World(now=times[0])
    day = Day(world, times)
    await day.run()

    assert set(day.taken) == set(day.told)  # everyone was served
    estimated = {c: (asked, told) for c, (asked, told) in day.told.items() if told is not None}
    night = len(day.told) - len(estimated)
    assert night >= 10  # told when the store opens, no estimate: not counted
    hits = [close_enough(told, day.taken[c] - asked) for c, (asked, told) in estimated.items()]
    thursday = [h for c, h in zip(estimated, hits, strict=True) if estimated[c][0] < local(27, 0)]
    friday = hits[len(thursday) :]
    assert len(thursday) > 100 and len(friday) > 60
    assert sum(hits) >= 0.8 * len(hits), f"{sum(hits)} of {len(hits)} within ±30%"
    # both sides of the night: Friday's first customers are not told the night's waits
    assert sum(friday) >= 0.8 * len(friday), f"Friday: {sum(friday)} of {len(friday)}"
    waits = [day.taken[c] - asked for c, (asked, _) in estimated.items()]
    assert max(waits) > 20 * 60  # a real line formed: the estimate had work to do


def entry(waited: float, began: float, priority: Priority = Priority.NORMAL) -> str:
    """A wait as handover/lua/lib/take.lua records it."""
    return f"{waited:.3f} {began:.3f} {band_of(priority)}"


def test_waits_begun_outside_business_hours_do_not_move_the_estimate():
    world = World(now=local(30, 11))  # Monday, 11:00
    view, waits = RedisQueueView(world.sync, world.clock), keys.queue_waits_key(PNID, "general")
    now = world.clock()  # the time the estimates are asked at
    # the morning's line: one taken every 3 minutes from 09:00, each joined with 4 ahead (4½ places)
    day = [entry(4.5 * 180, local(30, 9, 40) + 180 * n - 4.5 * 180) for n in range(20)]
    world.sync.lpush(waits, *day)
    told = view.typical_wait(PNID, "general", Priority.NORMAL, HOURS, now)
    assert told == 180.0  # 3 minutes a place

    # a dozen who wrote on Sunday night, served first on Monday morning
    night = [entry(local(30, 8) + 180 * n - local(29, 22, n), local(29, 22, n)) for n in range(12)]
    night.append(entry(local(30, 8, 5) - local(27, 19, 55), local(27, 19, 55)))  # Friday 19:55, weekend
    # another priority's (in hours, nobody's ahead), and a bare wait from before waits said when they began
    others = [entry(20 * 60, local(30, 8, 10), Priority.URGENT), "3000"]
    world.sync.lpush(waits, *night, *others)

    assert view.typical_wait(PNID, "general", Priority.NORMAL, HOURS, now) == told
    world.sync.delete(waits)
    world.sync.lpush(waits, *night)
    assert (
        view.typical_wait(PNID, "general", Priority.NORMAL, HOURS, now) is None
    )  # nothing in hours: the SLA
