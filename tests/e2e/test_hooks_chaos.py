"""Issue 33's chaos test against real processes: while customers write as fast as the webhook takes them,
one hook hangs and another answers 500. Every customer still gets the bot's answer, a healthy hook still
hears of every handover, the hanging one holds only its own few connections and the failing one's breaker
opens. The rate reached is printed, never asserted (speed lives in bench/)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from handover.hooks import outbox
from tests.fakes.hook_receiver import HookReceiver, three_receivers
from tests.support.cli import handover
from tests.support.processes import http_json, wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CUSTOMERS = 100
MESSAGES_EACH = 3  # "oi" twice, then a handover for the first HANDOVERS customers
HANDOVERS = 20


@pytest.fixture
def receivers() -> Iterator[dict[str, HookReceiver]]:
    with three_receivers() as made:
        yield made


def test_hooks_that_hang_or_fail_never_slow_the_bot_or_a_healthy_hook(redis_url, tmp_path, receivers):
    stack = Stack(redis_url, tmp_path).start(HANDOVER_HOOKS_ALLOW="127.0.0.1")
    try:
        env = {"REDIS_URL": redis_url, "HANDOVER_HOOKS_ALLOW": "127.0.0.1"}
        hooks = {}
        for name, receiver in receivers.items():
            argv = ["hooks", "add", receiver.url, "--events", "handed_over", "--json"]
            result = handover(argv, env, tmp_path)
            assert result.returncode == 0, result.stderr
            hooks[name] = json.loads(result.stdout)["id"]

        def says(job: tuple[int, int]) -> None:
            n, turn = job
            asks = turn == MESSAGES_EACH - 1 and n < HANDOVERS
            text = "quero falar com um atendente" if asks else "oi"
            body = {"from": f"55119880{n:05d}", "name": f"Cliente {n}", "text": text}
            status, answer = http_json("POST", f"{stack.base}/sandbox/messages", body)
            assert status == 202, answer

        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            for turn in range(MESSAGES_EACH):
                list(pool.map(says, [(n, turn) for n in range(CUSTOMERS)]))
        took = time.perf_counter() - started
        print(
            f"\n{CUSTOMERS * MESSAGES_EACH} messages taken in {took:.1f} s: {CUSTOMERS * MESSAGES_EACH / took:.0f}/s"
        )

        client = redis.Redis.from_url(redis_url, decode_responses=True)

        def answered() -> int:
            return sum(1 for n in range(CUSTOMERS) if len(stack.outbox(f"55119880{n:05d}")) >= MESSAGES_EACH)

        wait_for(lambda: answered() == CUSTOMERS or None, 60, "every customer's answers")
        healthy = receivers["healthy"]
        wait_for(lambda: len(healthy.taken()) >= HANDOVERS or None, 60, "every handover at the healthy hook")
        assert {json.loads(r.body)["type"] for r in healthy.taken()} == {"handed_over"}
        assert len({r.headers["webhook-id"] for r in healthy.taken()}) == HANDOVERS
        assert 1 <= len(receivers["hanging"].taken()) <= 4
        wait_for(lambda: outbox.breakers(client).get(hooks["failing"]) or None, 30, "the failing breaker")
        assert outbox.breakers(client)[hooks["failing"]].is_open(time.time())
    finally:
        stack.stop()
