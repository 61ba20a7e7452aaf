"""A batch's customers and their current conversations (`Store.current_conversations`): one round trip for
customers this process read before, checked against each customer's pointer in that same trip."""

from __future__ import annotations

import fakeredis
import pytest

from handover import keys
from handover.conversation import Conversation
from handover.message import CustomerRef
from handover.store import Store
from tests.support.round_trips import RoundTrips

NOW = 1_800_000_000.0
ANA, BIA = (
    CustomerRef(phone_number_id="PN", wa_id="5511900000001"),
    CustomerRef(phone_number_id="PN", wa_id="5511900000002"),
)


@pytest.fixture
def store() -> Store:
    return Store(fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True))


def started(store: Store, customer: CustomerRef) -> Conversation:
    conversation = Conversation.start(customer, NOW)
    with store.client.pipeline() as pipe:
        store.save_conversation(pipe, conversation)
        store.link_to_customer(pipe, conversation)
        pipe.execute()
    return conversation


def read(store: Store, customers: list[CustomerRef]) -> tuple[list[str | None], list[list[str]]]:
    trips = RoundTrips(store.client)
    found = store.current_conversations(customers)
    return [c.id if c else None for c in found], trips.trips


def test_customers_read_before_cost_one_round_trip(store):
    ana, bia = started(store, ANA), started(store, BIA)
    assert read(store, [ANA, BIA]) == ([ana.id, bia.id], [["HGET", "HGET"], ["HGETALL", "HGETALL"]])
    assert read(store, [ANA, BIA]) == ([ana.id, bia.id], [["HGET", "HGETALL", "HGET", "HGETALL"]])


def test_a_customer_never_seen_costs_no_second_trip(store):
    assert read(store, [ANA]) == ([None], [["HGET"]])


def test_a_new_conversation_is_found_though_the_old_one_was_remembered(store):
    old = started(store, ANA)
    read(store, [ANA])
    new = started(store, ANA)  # another process started a new one meanwhile
    found, trips = read(store, [ANA])
    assert found == [new.id] and trips == [["HGET", "HGETALL"], ["HGETALL"]]
    assert read(store, [ANA]) == ([new.id], [["HGET", "HGETALL"]])  # and remembered instead
    assert old.id != new.id


def test_a_conversation_deleted_since_is_none(store):
    """Retention deletes a conversation and the customer's pointer together."""
    ana = started(store, ANA)
    read(store, [ANA])
    store.client.delete(keys.conversation_key(ana.id))
    assert read(store, [ANA])[0] == [None]
    store.client.delete(keys.customer_key("PN", ANA.key))
    assert read(store, [ANA]) == ([None], [["HGET"]])  # forgotten: nothing read beside the pointer
