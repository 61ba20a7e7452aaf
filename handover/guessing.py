"""Unknown desk tokens, counted per client in Redis (issue 28, item 8): the check against the limit and the
count are one script (lua/token_failure.lua), so simultaneous guesses cannot all pass a check made before
any of them was counted (500 at once: 323 checked for a limit of 10), and every web process shares the
count. Only unknown tokens are counted: a known one is served before this is asked (desk/http.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis

from handover import keys, lua


@dataclass(frozen=True)
class Counted:
    failures: int  # the client's unknown tokens in the window, this one included when it was counted
    wait: float  # seconds before the client may try again: 0 when this one was counted (a 401, not a 429)


def count_failure(client: redis.Redis, who: str, limit: int, window: float, now: float) -> Counted:
    """Count one unknown token from `who`, unless it sent `limit` in the last `window` seconds already."""
    failures, wait_ms = lua.run(
        client,
        "token_failure",
        [keys.token_failures_key(who)],
        [int(now * 1000), int(window * 1000), limit, uuid.uuid4().hex],
    )
    return Counted(int(failures), int(wait_ms) / 1000)
