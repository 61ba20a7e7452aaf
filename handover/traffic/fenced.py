"""A transaction that applies only while a lease is its holder's, in one round trip.

`WATCH lease fence`, then `guard.lua` (which touches the fence when the lease is not the holder's), then
`expect.lua` for each hash the batch expects unchanged (WATCHed too), then `MULTI` … `EXEC` go out in one
write. Redis refuses an EXEC once a watched key changed after WATCH, by any
client including this one, so the writes apply only if the lease was the holder's when the guard ran and
nobody took it before EXEC; otherwise the EXEC's reply is nil and redis-py raises WatchError. Before, the
WATCH was a round trip of its own before every commit (~14% of a worker's time under load), and whether
the lease was still ours was partly judged by this process's clock.

redis-py sends a transaction as one packed write (MULTI, the commands, EXEC) and reads the replies in
order; `FencedPipeline` puts its prelude in front of that write and reads the prelude's replies first.
When the connection drops after the transaction went out, redis-py raises WatchError too; `connection_lost`
tells that apart, and `was_applied` finds out from Redis whether the transaction applied (a commit writes a
mark of its own for that). tests/integration/test_fenced_commit.py checks it against a real Redis, as
redis-py changes."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.client import Pipeline
from redis.exceptions import ResponseError

from handover import lua
from handover.availability import is_unavailable

FENCE_TTL_MS = 60_000  # a touched fence only has to outlive the transactions that watch it


@dataclass(frozen=True)
class Expected:
    """A hash whose `fields` must still hold these values ('' for absent) for the commit to apply: what a
    batch decided on when others may change it meanwhile (handover/lua/expect.lua)."""

    key: str
    fields: Mapping[str, str]


class FencedPipeline(Pipeline):  # type: ignore[misc]  # redis-py is untyped here
    """A MULTI/EXEC pipeline whose EXEC is refused unless `lease` holds `token` and every `expect` holds
    (see the module); `stale` says a refusal came from an expectation."""

    def __init__(
        self, client: redis.Redis, lease: str, fence: str, token: str, expect: Sequence[Expected] = ()
    ) -> None:
        super().__init__(client.connection_pool, client.response_callbacks, True, None)
        source = lua.source("guard")
        self.prelude: list[tuple[Any, ...]] = [
            ("WATCH", lease, fence, *(e.key for e in expect)),
            ("EVAL", source, 2, lease, fence, token, FENCE_TTL_MS),
        ]
        checks = lua.source("expect")
        for e in expect:
            pairs = [part for field, value in e.fields.items() for part in (field, value)]
            self.prelude.append(("EVAL", checks, 2, e.key, fence, FENCE_TTL_MS, *pairs))
        self.answers: list[Any] = []  # the prelude's replies
        self.connection_lost: Exception | None = None  # the transaction went out and its replies did not come

    def _disconnect_raise_on_watching(self, conn: Any, error: Exception, *args: Any, **kwargs: Any) -> None:
        # redis-py turns a connection lost while watching into a WatchError, as if the lease had been lost;
        # keep the difference: Redis may have applied the transaction (handover/traffic/streams.py finds out)
        self.connection_lost = error
        super()._disconnect_raise_on_watching(conn, error, *args, **kwargs)

    @property
    def stale(self) -> bool:
        """An expected hash had changed (its check answered 0)."""
        return any(answer == 0 for answer in self.answers[2:])

    def _execute_transaction(self, connection: Any, commands: Any, raise_on_error: bool) -> list[Any]:
        send = connection.send_packed_command
        failed: list[ResponseError] = []

        def send_after_prelude(packed: Any, check_health: bool = True) -> None:
            del connection.send_packed_command  # the connection's own method again
            send(connection.pack_commands(self.prelude) + list(packed), check_health)
            self.watching = True  # a connection lost from here on is a WatchError, never a blind retry
            for _ in self.prelude:
                try:
                    self.answers.append(self.parse_response(connection, "_"))
                except ResponseError as exc:  # read on: the transaction's replies follow
                    failed.append(exc)

        connection.send_packed_command = send_after_prelude
        try:
            replies: list[Any] = super()._execute_transaction(connection, commands, raise_on_error)
        finally:
            connection.__dict__.pop("send_packed_command", None)
        if failed:  # the guard did not run: nothing vouches for the lease
            raise failed[0]
        return replies


def was_applied(
    client: redis.Redis, mark_key: str, mark: str, stream: str, ids: Sequence[str], within: float
) -> bool | None:
    """Whether a commit whose reply was lost applied: the `mark` it wrote to `mark_key` is there (yes), or
    one of the stream entries it acknowledges and deletes is still there (no: they go with its effects, in
    one transaction). None when Redis cannot tell within `within` seconds (still away; or both gone: another
    drainer committed the entries after the lease and wrote its own mark)."""
    deadline, pause = time.monotonic() + max(within, 1.0), 0.05
    while True:
        try:
            with client.pipeline(transaction=False) as pipe:
                pipe.get(mark_key)
                for entry_id in ids:
                    pipe.xrange(stream, entry_id, entry_id)
                found, *entries = pipe.execute()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            if time.monotonic() + pause > deadline:
                return None
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
            continue
        if (found.decode() if isinstance(found, bytes) else found) == mark:
            return True
        return False if any(entries) else None
