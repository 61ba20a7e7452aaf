"""Hostile field sizes through the real webhook and a real worker: a 5,000-digit number is refused alone
(24k digits filed 655 MB of search terms; 100k killed the worker), a profile name of 100k blanks is cut,
and the good neighbours in the same POST are answered. Measured in Redis's memory and its index."""

from __future__ import annotations

import pytest
import redis

from handover import keys, search
from handover.message import CustomerRef
from handover.store import Store
from tests.integration.test_redelivered_entries import post_directly
from tests.integration.test_workers import processed, worker_env
from tests.support.processes import Process, wait_for
from tests.support.webhook import PNID, RECENT, body, signed, text_message

pytestmark = pytest.mark.integration


@pytest.fixture
def graph():
    from tests.fakes.graph_server import FakeGraph

    server = FakeGraph.start_in_thread(latency=0.01)
    yield server
    server.stop()


def test_oversized_fields_cost_their_item_or_are_cut_and_the_rest_is_answered(redis_url, graph, tmp_path):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    long_number, blank_named, good = "5" * 5_000, "5511933330001", "5511933330002"
    messages = [
        text_message("wamid.long", long_number, "oi", RECENT),
        text_message("wamid.blank", blank_named, "oi, boa tarde", RECENT + 1),
        text_message("wamid.good", good, "oi", RECENT + 2),
    ]
    names = {long_number: "Ana", blank_named: "Bia" + " " * 100_000 + ",x", good: "Caio"}
    memory_before = int(client.info("memory")["used_memory"])
    post_directly(redis_url, body(messages, names=names), signed)  # asserts the 200
    worker = Process(["worker"], worker_env(redis_url, graph.base_url), tmp_path / "worker.log").start()
    try:
        wait_for(lambda: processed(client) >= 2, 60, "the two good messages processed")
        wait_for(lambda: {r["json"].get("to") for r in graph.requests} >= {blank_named, good}, 60, "replies")
    finally:
        worker.stop()
    assert processed(client) == 2
    store = Store(client)
    assert store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=long_number)) is None
    blank = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=blank_named))
    assert blank is not None and blank.profile_name is not None and len(blank.profile_name) <= 256
    assert client.zcard(keys.SEARCH) <= 2 * search.MOST_TERMS
    # what the webhook and the worker kept for three messages, generously: the long number alone was 25 MB
    assert int(client.info("memory")["used_memory"]) - memory_before < 5_000_000
    assert long_number not in (tmp_path / "worker.log").read_text()
