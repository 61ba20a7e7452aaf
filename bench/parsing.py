"""Reading a batched webhook body: the cost per message for 1,000 and 10,000 messages in one POST.

The baseline, measured in the same run, is the 1,000-message body: a linear reader costs the same per
message at 10,000 (a quadratic one, as the contact lookup once was, ten times as much)."""

from __future__ import annotations

import json
import time

from tests.support.webhook import body, text_message
from webhooks.normalize import normalize


def per_message(count: int, rounds: int = 3) -> float:
    raw = json.dumps(
        body([text_message(f"wamid.{i}", f"5511{i:09d}", "oi", 1_700_000_000 + i) for i in range(count)])
    ).encode()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        normalize(json.loads(raw))
        best = min(best, time.perf_counter() - started)
    return best / count


def parsing() -> None:
    small, large = per_message(1000), per_message(10_000)
    print("(d) reading one batched webhook body (JSON + normalize), per message")
    print(f"    1,000 messages in one POST    {small * 1e6:6.1f} us")
    print(
        f"    10,000 messages in one POST   {large * 1e6:6.1f} us   ratio {large / small:.2f}x (linear: ~1x)"
    )
