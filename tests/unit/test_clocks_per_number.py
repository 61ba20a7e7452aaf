"""The clocks' sweep over every held conversation reads each conversation's own number's rules
(handover/clockwatch.py): a clock one number's rules set never runs on another number's conversations."""

from __future__ import annotations

from collections.abc import Callable

from handover.clockwatch import ClockWatch
from handover.rules.loader import LoadedRules
from tests.support.clocked import answered, rules, sweep_at
from tests.support.world import PNID, World

OTHER = "106540352242923"


class Book:
    """A Rulebook's shape over rules already loaded: `per_number`'s, the default for the rest."""

    def __init__(self, default: LoadedRules, per_number: dict[str, LoadedRules]) -> None:
        self.default, self.per_number = default, per_number

    def __call__(self, number: str | None = None) -> LoadedRules:
        return self.per_number.get(number or "", self.default)

    def holders(self) -> dict[str | None, Callable[[], LoadedRules]]:
        every = {None: self.default, **self.per_number}
        return {number: (lambda loaded=loaded: loaded) for number, loaded in every.items()}


NO_CLOCKS = rules(customer_idle=None, agent_reply_seconds=None)


async def test_a_clock_of_the_conversations_number_runs_though_the_default_rules_have_none() -> None:
    world = World(rules=rules())
    watch = ClockWatch(world.store, Book(NO_CLOCKS, {PNID: rules()}), world.partitions, world.clock)
    await answered(world)  # on PNID, whose rules remind a quiet customer after 10 minutes
    assert sweep_at(world, watch, 600) == {"remind": 1}


async def test_a_clock_of_another_numbers_rules_never_runs_on_this_numbers_conversations() -> None:
    world = World(rules=rules())
    watch = ClockWatch(
        world.store, Book(rules(), {PNID: NO_CLOCKS, OTHER: rules()}), world.partitions, world.clock
    )
    await answered(world)
    assert sweep_at(world, watch, 600) == {}
    assert sweep_at(world, watch, 1800) == {}
