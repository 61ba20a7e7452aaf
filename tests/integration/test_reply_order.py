"""Each conversation's replies reach Meta in the order they were written, through retries (issue 28, item 2).

Real processes: a redis-server, `handover serve`, two `handover worker`s, and the fake Graph API answering,
for every customer, a chosen reply 429 (130429), then 500, then OK, while the bot's later replies to a burst
of messages queue behind it. Before sends were numbered, a reply coming back from its line while the
retried one was still out was put behind a newer one: a customer's reply 4 reached Meta before reply 3.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from config.settings import SANDBOX_APP_SECRET
from handover import keys
from tests.fakes.graph_server import FakeGraph
from tests.support.chaos import Customers, Deployment, dead_letters, transcript
from tests.support.processes import wait_for
from tests.support.webhook import RECENT, body, signed, text_message

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

CUSTOMERS, EACH = 100, 8
STUMBLE_AT = {1, 3, 5}  # each customer's 2nd, 4th and 6th reply: refused twice, then accepted
ANSWERS: list[tuple[int, int | None]] = [(429, 130429), (500, 131000)]


class Thankful(Customers):
    """Customers who thank the bot in a burst: it answers every one (a reply each, none escalated)."""

    def message(self, i: int, c: int) -> tuple[str, str, bytes, dict[str, str]]:
        wa_id, message_id = f"55118{c:08d}", f"wamid.order.{c}.{i}"
        text = ("obrigado", "valeu", "obrigada")[i % 3]
        raw, headers = signed(body([text_message(message_id, wa_id, text, RECENT + i)]), SANDBOX_APP_SECRET)
        return wa_id, message_id, raw, headers


def test_replies_reach_meta_in_order_through_429_then_500_and_none_is_lost_or_doubled(tmp_path):
    graph = FakeGraph.start_in_thread(latency=0.1)  # Meta answers in 100-300 ms
    graph.stumble(STUMBLE_AT, ANSWERS)
    env = {
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_APP_SECRET": SANDBOX_APP_SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_API_URL": graph.base_url,
        "HANDOVER_PARTITIONS": "4",
        "HANDOVER_BATCH_SIZE": "8",  # a burst's replies and their retries spread over many batches
    }
    deployment = Deployment(tmp_path, workers=2, env=env).start()
    try:
        customers = Thankful(count=CUSTOMERS, each=EACH)
        # message 0 of every customer, then message 1 ..., a round every ~0.7 s: replies keep coming while
        # earlier ones wait for their retry (2 s, then 4 s)
        customers.write(deployment.base, during=lambda n: time.sleep(0.7) if n % CUSTOMERS == 0 else None)
        client = deployment.client()
        wait_for(lambda: customers.all_processed(client), 60, "every message taken by the bot")

        def replies(wa_id: str) -> list:
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
        out_of_order, counts = [], []
        for wa_id in customers.acknowledged:
            written = replies(wa_id)
            counts.append(len(written))
            # the fake numbers what it accepts in the order it accepts it: wamid.fake.1, .2 ...
            numbers = [int(e.delivery.wa_message_id.rsplit(".", 1)[1]) for e in written]
            if numbers != sorted(numbers):
                out_of_order.append((wa_id, numbers))
            assert len(set(numbers)) == len(numbers), (wa_id, numbers)  # none recorded twice
            assert accepted[wa_id] == len(written), (wa_id, accepted[wa_id], len(written))  # none sent twice
        assert not out_of_order, f"{len(out_of_order)} of {CUSTOMERS} out of order: {out_of_order[:3]}"
        assert min(counts) > max(STUMBLE_AT)  # every customer had replies queued behind both retried ones
        assert graph.stumbles_served() == CUSTOMERS * len(STUMBLE_AT) * len(ANSWERS)
        assert dead_letters(client) == 0
        # nothing is owed any more: the conversations' cursors, numbers and held sends are all forgotten
        assert not client.exists(keys.SEND_CURSORS, keys.SEND_NUMBERS)
        assert not list(client.scan_iter(keys.held_sends_key("*")))
        assert all(deployment.alive()), deployment.logs()
    finally:
        deployment.stop()
        graph.stop()
