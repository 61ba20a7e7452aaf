"""The wait estimate: how long one place in a queue's line takes, from the recent waits of the same queue
and priority that began and ended inside the queue's business hours (handover/lua/lib/take.lua records
every wait as `waited began band`, newest first)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from handover.hours import is_open, next_opening
from handover.rules.model import Hours, Priority

WAITS_KEPT = 200  # take.lua keeps this many per queue (LTRIM 0 199): enough to see who stood ahead
RECENT_WAITS = 20  # the estimate reads the newest this many that qualify ...
MAX_AGE_SECONDS = 3 * 86400  # ... ended within this long: a Monday morning still reads Friday afternoon


@dataclass(frozen=True)
class Wait:
    """One conversation's time in a queue, from joining it to an agent taking it."""

    waited: float
    began: float
    band: int  # the priority's score band: 0 is urgent, higher is less urgent (handover/assignment/queues.py)

    @property
    def ended(self) -> float:
        return self.began + self.waited

    @classmethod
    def parse(cls, raw: str) -> Wait | None:
        """`waited began band` as take.lua writes it; None for a bare number written before it said when
        the wait began (it cannot be placed in business hours, so it is not used)."""
        parts = raw.split()
        if len(parts) != 3:
            return None
        try:
            return cls(waited=float(parts[0]), began=float(parts[1]), band=int(parts[2]))
        except ValueError:
            return None


def band_of(priority: Priority) -> int:
    return Priority.URGENT.weight - priority.weight


def inside_hours(hours: Hours | None, wait: Wait) -> bool:
    """Began and ended while the queue was open, and it did not close in between (the next opening after
    it began came after it ended). A queue with no business hours is always open."""
    if hours is None:
        return True
    if not (is_open(hours, wait.began) and is_open(hours, wait.ended)):
        return False
    reopening = next_opening(hours, wait.began)
    return reopening is None or reopening.timestamp() > wait.ended


def seconds_per_place(
    waits: Iterable[Wait], priority: Priority, hours: Hours | None, now: float
) -> float | None:
    """The median, over the newest RECENT_WAITS waits of `priority` inside business hours that ended within
    MAX_AGE_SECONDS, of each wait divided by the places it started from: `ahead + ½`, where `ahead` are the
    conversations at least as urgent that had joined before it and were taken after it joined (the waits
    list knows them all, within WAITS_KEPT). The ½: one who joins waits on average half a place for the
    conversation being taken next. None when no wait qualifies."""
    known = list(waits)
    band = band_of(priority)
    recent = [
        w
        for w in known
        if w.band == band and now - MAX_AGE_SECONDS <= w.ended <= now and inside_hours(hours, w)
    ][:RECENT_WAITS]
    if not recent:
        return None
    per_place = []
    for wait in recent:
        ahead = sum(1 for o in known if o.band <= band and o.began < wait.began < o.ended)
        per_place.append(max(wait.waited, 0.0) / (ahead + 0.5))
    return statistics.median(per_place)


def expected_seconds(per_place: float, position: int) -> float:
    """The wait of the one at `position` (1: next): the places ahead, and half the one being served."""
    return per_place * (max(position, 1) - 0.5)
