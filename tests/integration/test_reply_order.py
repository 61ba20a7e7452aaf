"""Each conversation's replies reach Meta in the order they were written, through retries (issue 28, item 2).

Real processes: a redis-server, `handover serve`, `handover worker`s, and the fake Graph API answering,
for every customer, chosen replies 429 (130429), then 500, then OK, while the bot's later replies to a burst
of messages queue behind them. Before sends were numbered, a reply coming back from its line while the
retried one was still out was put behind a newer one: 7 to 25 of 100 customers got a reply before an
earlier one. The second test also SIGKILLs workers mid-send.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import redis

from config.settings import SANDBOX_APP_SECRET
from handover import keys
from tests.fakes.graph_server import FakeGraph
from tests.support.chaos import Customers, Deployment, dead_letters, transcript
from tests.support.processes import Process, wait_for
from tests.support.webhook import RECENT, body, signed, text_message

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

ANSWERS: list[tuple[int, int | None]] = [(429, 130429), (500, 131000)]


class Thankful(Customers):
    """Customers who thank the bot in a burst: it answers every one (a reply each, none escalated)."""

    def message(self, i: int, c: int) -> tuple[str, str, bytes, dict[str, str]]:
        wa_id, message_id = f"55118{c:08d}", f"wamid.order.{c}.{i}"
        text = ("obrigado", "valeu", "obrigada")[i % 3]
        raw, headers = signed(body([text_message(message_id, wa_id, text, RECENT + i)]), SANDBOX_APP_SECRET)
        return wa_id, message_id, raw, headers


def graph_env(graph: FakeGraph, **more: str) -> dict[str, str]:
    return {
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_APP_SECRET": SANDBOX_APP_SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_API_URL": graph.base_url,
        "HANDOVER_PARTITIONS": "4",
        "HANDOVER_BATCH_SIZE": "8",  # a burst's replies and their retries spread over many batches
        **more,
    }


def test_replies_reach_meta_in_order_through_429_then_500_and_none_is_lost_or_doubled(tmp_path):
    customers, stumble_at = Thankful(count=100, each=8), {1, 3, 5}  # the 2nd, 4th and 6th reply of each
    graph = FakeGraph.start_in_thread(latency=0.1)  # Meta answers in 100-300 ms
    graph.stumble(stumble_at, ANSWERS)
    deployment = Deployment(tmp_path, workers=2, env=graph_env(graph)).start()
    try:
        # message 0 of every customer, then message 1 ..., a round every ~0.7 s: replies keep coming while
        # earlier ones wait for their retry (2 s, then 4 s)
        customers.write(
            deployment.base, during=lambda n: time.sleep(0.7) if n % customers.count == 0 else None
        )
        client = deployment.client()
        counts = replies_in_order(client, customers, graph, doubles_allowed=0)
        assert min(counts) > max(stumble_at)  # every customer had replies queued behind each retried one
        assert graph.stumbles_served() == customers.count * len(stumble_at) * len(ANSWERS)
        assert all(deployment.alive()), deployment.logs()
    finally:
        deployment.stop()
        graph.stop()


def test_replies_stay_in_order_when_workers_are_killed_mid_send(tmp_path):
    """Graph answers slowly (0.3 s) so a SIGKILL often lands while a batch's sends are out; a new worker
    takes the partition over and sends again what was not committed (at-least-once), still in order."""
    customers, stumble_at = Thankful(count=40, each=6), {1, 3}
    graph = FakeGraph.start_in_thread(latency=0.3)
    graph.stumble(stumble_at, ANSWERS)
    env = graph_env(graph, HANDOVER_LEASE_SECONDS="2")
    deployment = Deployment(tmp_path, workers=3, env=env).start()
    killed = 0

    def kill_one(n: int) -> None:
        nonlocal killed
        if n % 20 == 19:  # about every 0.5 s while customers write, a worker dies and another starts
            victim = deployment.processes[1 + killed % 3]
            victim.kill()
            deployment.processes[1 + killed % 3] = Process(
                ["worker"], victim.env, tmp_path / f"worker.{killed}.log"
            ).start()
            killed += 1
        if n % customers.count == 0:
            time.sleep(0.5)

    try:
        customers.write(deployment.base, during=kill_one)
        client = deployment.client()
        replies_in_order(client, customers, graph, doubles_allowed=killed * 8)
        assert killed >= 10
    finally:
        deployment.stop()
        graph.stop()


def replies_in_order(
    client: redis.Redis, customers: Customers, graph: FakeGraph, doubles_allowed: int
) -> list[int]:
    """Wait for every reply to be accepted by Meta; check each customer's reached it in the order they were
    written, none lost, and (past `doubles_allowed` in all, sends repeated after a worker died) none twice;
    and that nothing is left owed. Returns how many replies each customer got."""
    wait_for(lambda: customers.all_processed(client), 90, "every message taken by the bot")

    def replies(wa_id: str) -> list[Any]:
        return [e for e in transcript(client, wa_id) if e.direction == "out"]

    def unsent() -> int:
        return sum(
            1
            for wa_id in customers.acknowledged
            for e in replies(wa_id)
            if not (e.delivery and e.delivery.wa_message_id)
        )

    wait_for(lambda: unsent() == 0, 120, "every reply accepted by Meta")
    accepted = Counter(body["to"] for body in graph.accepted)
    out_of_order, counts, doubles = [], [], 0
    for wa_id in customers.acknowledged:
        written = replies(wa_id)
        counts.append(len(written))
        # the fake numbers what it accepts in the order it accepts it: wamid.fake.1, .2 ...
        numbers = [int(e.delivery.wa_message_id.rsplit(".", 1)[1]) for e in written]
        if numbers != sorted(numbers):
            out_of_order.append((wa_id, numbers))
        assert len(set(numbers)) == len(numbers), (wa_id, numbers)  # none recorded twice
        assert accepted[wa_id] >= len(written), (wa_id, accepted[wa_id], len(written))  # none lost
        doubles += accepted[wa_id] - len(written)
    assert not out_of_order, f"{len(out_of_order)} of {customers.count} out of order: {out_of_order[:3]}"
    assert doubles <= doubles_allowed, doubles
    assert dead_letters(client) == 0
    # nothing is owed any more: the conversations' cursors, numbers and held sends are all forgotten
    assert not client.exists(keys.SEND_CURSORS, keys.SEND_NUMBERS)
    assert not list(client.scan_iter(keys.held_sends_key("*")))
    return counts
