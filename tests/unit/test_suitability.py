"""Who a push queue offers a conversation to: each rule of suitability, each tier of the order beating the
next, each policy, and properties over random pools (no agent unsuitable, the same answer in any order)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from handover.assignment.suitability import Candidate, Want, is_suitable, rank
from handover.rules.model import MatchMode, Policy, QueueMatch

PREFERRED = QueueMatch()
NEEDS_LANGUAGE = QueueMatch(language=MatchMode.REQUIRED)
NEEDS_SKILLS = QueueMatch(skills=MatchMode.REQUIRED)
CARDS = frozenset({"cards"})
CARDS_DISPUTES = frozenset({"cards", "disputes"})


def agent(id: str = "ana", **changes: object) -> Candidate:
    """A free agent of the general queue who speaks Portuguese, with no skills, idle since 100."""
    base = Candidate(
        id=id,
        available=True,
        load=0,
        capacity=3,
        queues=frozenset({"general"}),
        languages=frozenset({"pt"}),
        skills=frozenset(),
        idle_since=100.0,
        assigned=0,
        last_assigned_at=0.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def want(**changes: object) -> Want:
    """A Portuguese-speaking customer of the general queue, no skills asked, never served before."""
    base = Want(queue="general", language="pt", skills=frozenset(), previous_agent=None)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


SUITABILITY = [
    pytest.param(agent(), want(), PREFERRED, True, id="free-in-the-queue"),
    pytest.param(agent(available=False), want(), PREFERRED, False, id="not-available"),
    pytest.param(agent(load=2), want(), PREFERRED, True, id="below-capacity"),
    pytest.param(agent(load=3), want(), PREFERRED, False, id="at-capacity"),
    pytest.param(agent(load=4, capacity=3), want(), PREFERRED, False, id="past-capacity"),
    pytest.param(agent(queues=frozenset({"billing"})), want(), PREFERRED, False, id="other-queue"),
    pytest.param(agent(), want(skip=frozenset({"ana"})), PREFERRED, False, id="skipped"),
    pytest.param(agent(), want(skip=frozenset({"bia"})), PREFERRED, True, id="someone-else-skipped"),
    pytest.param(agent(), want(language="en"), PREFERRED, True, id="language-preferred-not-spoken"),
    pytest.param(agent(), want(language="en"), NEEDS_LANGUAGE, False, id="language-required-not-spoken"),
    pytest.param(agent(), want(language="pt"), NEEDS_LANGUAGE, True, id="language-required-spoken"),
    pytest.param(agent(), want(language=None), NEEDS_LANGUAGE, True, id="language-required-unknown"),
    pytest.param(agent(), want(skills=CARDS), PREFERRED, True, id="skills-preferred-missing"),
    pytest.param(
        agent(skills=CARDS), want(skills=CARDS_DISPUTES), NEEDS_SKILLS, False, id="skills-one-missing"
    ),
    pytest.param(
        agent(skills=CARDS_DISPUTES | {"returns"}),
        want(skills=CARDS_DISPUTES),
        NEEDS_SKILLS,
        True,
        id="skills-all",
    ),
    pytest.param(agent(), want(skills=frozenset()), NEEDS_SKILLS, True, id="skills-required-none-asked"),
    pytest.param(
        agent(available=False), want(previous_agent="ana"), PREFERRED, False, id="sticky-but-not-available"
    ),
]


@pytest.mark.parametrize(("candidate", "wants", "match", "suitable"), SUITABILITY)
def test_who_is_suitable(candidate: Candidate, wants: Want, match: QueueMatch, suitable: bool):
    assert is_suitable(wants, candidate, match) is suitable
    assert rank(wants, [candidate], Policy.LONGEST_IDLE, match) == (["ana"] if suitable else [])


# Each row: two agents where the first is better on one tier and worse on every tier after it, so the
# tier must be what puts it first.
TIERS = [
    pytest.param(
        agent("zed", languages=frozenset({"en"}), idle_since=900.0),
        agent("amy", skills=CARDS, idle_since=1.0),
        want(previous_agent="zed", skills=CARDS),
        id="sticky-beats-language",
    ),
    pytest.param(
        agent("zed", idle_since=900.0),
        agent("amy", languages=frozenset({"en"}), skills=CARDS, idle_since=1.0),
        want(skills=CARDS),
        id="language-beats-skills",
    ),
    pytest.param(
        agent("zed", skills=CARDS_DISPUTES, idle_since=900.0),
        agent("amy", skills=CARDS, idle_since=1.0),
        want(skills=CARDS_DISPUTES),
        id="all-skills-beat-some",
    ),
    pytest.param(
        agent("zed", skills=CARDS, idle_since=900.0),
        agent("amy", skills=frozenset({"returns"}), idle_since=1.0),
        want(skills=CARDS_DISPUTES),
        id="some-skills-beat-none-wanted",
    ),
    pytest.param(
        agent("zed", idle_since=1.0),
        agent("amy", idle_since=900.0),
        want(),
        id="policy-beats-id",
    ),
    pytest.param(agent("amy"), agent("zed"), want(), id="id-last"),
    pytest.param(
        agent("zed", idle_since=1.0),
        agent("amy", idle_since=900.0),
        want(language=None, skills=frozenset()),
        id="no-language-no-skills-leaves-the-policy",
    ),
]


@pytest.mark.parametrize(("better", "worse", "wants"), TIERS)
def test_each_tier_of_the_order_beats_the_next(better: Candidate, worse: Candidate, wants: Want):
    assert rank(wants, [worse, better], Policy.LONGEST_IDLE, PREFERRED) == [better.id, worse.id]
    assert rank(wants, [better, worse], Policy.LONGEST_IDLE, PREFERRED) == [better.id, worse.id]


POLICIES = [
    pytest.param(
        Policy.LONGEST_IDLE,
        [agent("a", idle_since=300.0), agent("b", idle_since=100.0), agent("c", idle_since=200.0)],
        ["b", "c", "a"],
        id="longest-idle-first",
    ),
    pytest.param(
        Policy.LONGEST_IDLE,
        [agent("a", idle_since=300.0, load=0), agent("b", idle_since=100.0, load=2)],
        ["b", "a"],
        id="longest-idle-ignores-load",
    ),
    pytest.param(
        Policy.LEAST_LOADED,
        [agent("a", load=2), agent("b", load=0, idle_since=900.0), agent("c", load=1)],
        ["b", "c", "a"],
        id="least-loaded-first",
    ),
    pytest.param(
        Policy.LEAST_LOADED,
        [agent("a", load=1, assigned=7), agent("b", load=1, assigned=3, idle_since=900.0)],
        ["b", "a"],
        id="least-loaded-then-fewest-given",
    ),
    pytest.param(
        Policy.LEAST_LOADED,
        [agent("a", load=1, assigned=3, idle_since=500.0), agent("b", load=1, assigned=3, idle_since=200.0)],
        ["b", "a"],
        id="least-loaded-then-longest-idle",
    ),
    pytest.param(
        Policy.ROUND_ROBIN,
        [
            agent("a", last_assigned_at=50.0),
            agent("b", last_assigned_at=0.0),
            agent("c", last_assigned_at=20.0),
        ],
        ["b", "c", "a"],
        id="round-robin-never-given-then-least-recent",
    ),
    pytest.param(
        Policy.ROUND_ROBIN,
        [
            agent("a", last_assigned_at=50.0, load=0, idle_since=1.0),
            agent("b", last_assigned_at=10.0, load=2),
        ],
        ["b", "a"],
        id="round-robin-ignores-load-and-idleness",
    ),
    pytest.param(
        Policy.ROUND_ROBIN,
        [agent("c"), agent("a"), agent("b")],
        ["a", "b", "c"],
        id="round-robin-tie-by-id",
    ),
]


@pytest.mark.parametrize(("policy", "agents", "order"), POLICIES)
def test_each_policy_orders_agents_equal_otherwise(policy: Policy, agents: list[Candidate], order: list[str]):
    assert rank(want(), agents, policy, PREFERRED) == order


def test_nobody_to_rank_gives_nobody():
    assert rank(want(), [], Policy.LEAST_LOADED, PREFERRED) == []
    busy = [agent("a", load=3), agent("b", available=False), agent("c", queues=frozenset())]
    assert rank(want(), busy, Policy.LEAST_LOADED, PREFERRED) == []


def test_required_drops_those_preferred_only_puts_last():
    speaks = agent("zed", idle_since=900.0)
    foreign = agent("amy", languages=frozenset({"en"}), idle_since=1.0)
    assert rank(want(), [foreign, speaks], Policy.LONGEST_IDLE, PREFERRED) == ["zed", "amy"]
    assert rank(want(), [foreign, speaks], Policy.LONGEST_IDLE, NEEDS_LANGUAGE) == ["zed"]
    skilled = agent("zed", skills=CARDS_DISPUTES, idle_since=900.0)
    partly = agent("amy", skills=CARDS, idle_since=1.0)
    wants = want(skills=CARDS_DISPUTES)
    assert rank(wants, [partly, skilled], Policy.LONGEST_IDLE, PREFERRED) == ["zed", "amy"]
    assert rank(wants, [partly, skilled], Policy.LONGEST_IDLE, NEEDS_SKILLS) == ["zed"]


def test_the_sticky_agent_skipped_or_full_gives_way_to_the_next():
    ana, bia = agent("ana", idle_since=900.0), agent("bia")
    assert rank(want(previous_agent="ana"), [ana, bia], Policy.LONGEST_IDLE, PREFERRED) == ["ana", "bia"]
    declined = want(previous_agent="ana", skip=frozenset({"ana"}))
    assert rank(declined, [ana, bia], Policy.LONGEST_IDLE, PREFERRED) == ["bia"]
    full = dataclasses.replace(ana, load=3)
    assert rank(want(previous_agent="ana"), [full, bia], Policy.LONGEST_IDLE, PREFERRED) == ["bia"]


# Properties over random pools: a seeded generator, so a failure replays exactly.


def random_agent(rng: random.Random, id: str) -> Candidate:
    pick = lambda pool: frozenset(rng.sample(pool, rng.randint(0, len(pool))))  # noqa: E731
    return Candidate(
        id=id,
        available=rng.random() < 0.8,
        load=rng.randint(0, 4),
        capacity=rng.randint(1, 4),
        queues=pick(["general", "billing"]),
        languages=pick(["pt", "en", "es"]),
        skills=pick(["cards", "disputes", "returns"]),
        idle_since=float(rng.randint(0, 5)),
        assigned=rng.randint(0, 3),
        last_assigned_at=float(rng.randint(0, 5)),
    )


def random_case(seed: int) -> tuple[Want, list[Candidate], Policy, QueueMatch]:
    rng = random.Random(seed)
    agents = [random_agent(rng, f"ag_{n}") for n in range(rng.randint(0, 12))]
    ids = [a.id for a in agents]
    wants = Want(
        queue=rng.choice(["general", "billing"]),
        language=rng.choice([None, "pt", "en"]),
        skills=frozenset(rng.sample(["cards", "disputes", "returns"], rng.randint(0, 2))),
        previous_agent=rng.choice([None, "ag_gone", *ids]),
        skip=frozenset(rng.sample(ids, rng.randint(0, min(2, len(ids))))),
    )
    match = QueueMatch(language=rng.choice(list(MatchMode)), skills=rng.choice(list(MatchMode)))
    return wants, agents, rng.choice(list(Policy)), match


def test_every_suitable_agent_and_only_they_come_back_in_one_order_whatever_the_input_order():
    for seed in range(500):
        wants, agents, policy, match = random_case(seed)
        ranked = rank(wants, agents, policy, match)
        assert sorted(ranked) == sorted(a.id for a in agents if is_suitable(wants, a, match)), seed
        for a in (a for a in agents if a.id in ranked):
            assert a.available and a.load < a.capacity and wants.queue in a.queues, seed
            assert a.id not in wants.skip, seed
            if match.language is MatchMode.REQUIRED and wants.language is not None:
                assert wants.language in a.languages, seed
            if match.skills is MatchMode.REQUIRED:
                assert wants.skills <= a.skills, seed
        shuffled = list(agents)
        random.Random(seed).shuffle(shuffled)
        assert rank(wants, shuffled, policy, match) == ranked, seed
        assert rank(wants, reversed(agents), policy, match) == ranked, seed  # any iterable, read once
        if wants.previous_agent in ranked:
            assert ranked[0] == wants.previous_agent, seed
