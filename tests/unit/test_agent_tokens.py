"""Desk tokens (`AgentStore.by_token`, asked on every desk request): a token seen before is checked and its
agent read in one round trip, and still dies at once when its agent is removed or the token is reissued."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import fakeredis
import pytest

from handover import keys
from handover.agents import AgentStore, Presence, Role, token_hash
from tests.support.round_trips import RoundTrips

FIRST = [["GET"], ["HMGET"]]  # the token's key, then the agent it maps to
KNOWN = [["GET", "HMGET"]]  # both at once, pipelined


@pytest.fixture
def store():
    return AgentStore(fakeredis.FakeRedis(decode_responses=True), clock=lambda: 1000.0)


@pytest.fixture
def client(store):
    """The store's Redis, where the tests change what the store would find."""
    return store.client


@pytest.fixture
def trips(client):
    return RoundTrips(client)


def looked_up(store: AgentStore, trips: RoundTrips, token: str) -> tuple[str | None, list[list[str]]]:
    """Who the token is, and the round trips it took to say."""
    trips.reset()
    agent = store.by_token(token)
    return (agent.id if agent is not None else None), list(trips.trips)


def reissue(client, agent_id: str, old: str, new: str) -> None:
    """What reissuing a token would write (the store has no such command yet): the old key goes, the new
    one maps to the agent, whose hash names the new digest."""
    with client.pipeline(transaction=True) as pipe:
        pipe.delete(keys.agent_token_key(token_hash(old)))
        pipe.set(keys.agent_token_key(token_hash(new)), agent_id)
        pipe.hset(keys.agent_key(agent_id), "token", token_hash(new))
        pipe.execute()


def test_a_token_seen_before_costs_one_round_trip_and_reads_the_agent_as_now_stored(store, trips):
    ana, token = store.add("Ana", ["general"], 3, Role.AGENT)

    assert looked_up(store, trips, token) == (ana.id, FIRST)
    assert looked_up(store, trips, token) == (ana.id, KNOWN)

    store.set_status(ana.id, Presence.AVAILABLE)
    store.update(ana.id, capacity=5)
    trips.reset()
    again = store.by_token(token)
    assert again == store.get(ana.id)
    assert (again.status, again.capacity) == (Presence.AVAILABLE, 5)


def test_a_removed_agents_remembered_token_dies_at_once(store, trips, client):
    ana, token = store.add("Ana", ["general"], 3, Role.AGENT)
    store.by_token(token)

    store.retire(ana.id)

    assert looked_up(store, trips, token) == (None, KNOWN)  # the agent's hash is still there: not enough
    assert looked_up(store, trips, token) == (None, [["GET"]])  # no longer remembered


def test_a_remembered_token_whose_key_was_deleted_is_unknown(store, trips, client):
    _, token = store.add("Ana", ["general"], 3, Role.AGENT)
    store.by_token(token)

    client.delete(keys.agent_token_key(token_hash(token)))

    assert looked_up(store, trips, token) == (None, KNOWN)


def test_a_reissued_token_replaces_the_old_one_at_once(store, trips, client):
    ana, old = store.add("Ana", ["general"], 3, Role.AGENT)
    store.by_token(old)

    reissue(client, ana.id, old, "hv_new")

    assert looked_up(store, trips, old) == (None, KNOWN)
    assert looked_up(store, trips, "hv_new") == (ana.id, FIRST)
    assert looked_up(store, trips, "hv_new") == (ana.id, KNOWN)
    assert looked_up(store, trips, old) == (None, [["GET"]])


def test_a_remembered_token_that_now_maps_to_another_agent_is_theirs(store, trips, client):
    ana, token = store.add("Ana", ["general"], 3, Role.AGENT)
    bia, _ = store.add("Bia", ["general"], 3, Role.SUPERVISOR)
    store.by_token(token)

    client.set(keys.agent_token_key(token_hash(token)), bia.id)

    assert looked_up(store, trips, token) == (bia.id, [["GET", "HMGET"], ["HMGET"]])
    assert looked_up(store, trips, token) == (bia.id, KNOWN)  # remembered as Bia's now
    client.set(keys.agent_token_key(token_hash(token)), ana.id)
    assert looked_up(store, trips, token) == (ana.id, [["GET", "HMGET"], ["HMGET"]])


def test_a_token_outliving_its_agents_hash_is_unknown(store, trips, client):
    ana, token = store.add("Ana", ["general"], 3, Role.AGENT)
    store.by_token(token)

    client.delete(keys.agent_key(ana.id))  # the key stays (not how removal goes, but a token is no proof)

    assert looked_up(store, trips, token) == (None, KNOWN)
    assert looked_up(store, trips, token) == (None, FIRST)  # not remembered again


def test_unknown_tokens_are_not_remembered(store, trips):
    for _ in range(3):
        assert looked_up(store, trips, "hv_guess") == (None, [["GET"]])


def test_the_tokens_remembered_are_bounded_the_longest_remembered_going_first(store, trips):
    store.known_tokens.size = 2
    added = [store.add(name, ["general"], 3, Role.AGENT) for name in ("Ana", "Bia", "Caio")]
    for _, token in added:
        store.by_token(token)

    (ana, ana_token), _, (caio, caio_token) = added
    assert looked_up(store, trips, caio_token) == (caio.id, KNOWN)
    assert looked_up(store, trips, ana_token) == (ana.id, FIRST)  # forgotten for Caio's, learnt again


def test_lookups_from_many_threads_stay_right_while_the_remembered_tokens_churn(store):
    store.known_tokens.size = 3
    added = [store.add(f"Agent {n}", ["general"], 3, Role.AGENT) for n in range(8)]

    def lookups(offset: int) -> list[bool]:
        return [
            store.by_token(added[(offset + n) % len(added)][1]) == added[(offset + n) % len(added)][0]
            for n in range(60)
        ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [ok for batch in pool.map(lookups, range(4)) for ok in batch]

    assert all(results) and len(results) == 240
