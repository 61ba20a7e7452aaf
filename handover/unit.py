"""A guarded change, the one way the domain writes what it read (cosmicpython's unit of work, on Redis's
optimistic transactions): WATCH the keys, read them, decide, then queue the writes after `pipe.multi()`;
they are executed when the block ends, all or none. If a watched key changed meanwhile the block raises
redis.WatchError, or `Conflict(conflict)` when the caller gave one (the desk answers 409); a caller that
retries or gives way catches WatchError itself. A block that returns or raises before `multi()` writes
nothing. (A lease's own fenced commit is handover/traffic/fenced.py.)

    with guarded(client, keys.agent_key(agent_id)) as pipe:
        raw = pipe.hget(...)             # read at once, watched
        pipe.multi()
        pipe.hset(...)                   # queued, executed when the block ends
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.client import Pipeline

from handover.errors import Conflict


@contextmanager
def guarded(client: redis.Redis, *watched: str, conflict: str | None = None) -> Iterator[Pipeline]:
    with client.pipeline(transaction=True) as pipe:
        try:
            if watched:
                pipe.watch(*watched)
            yield pipe
            if pipe.explicit_transaction:
                pipe.execute()
        except redis.WatchError as exc:
            if conflict is None:
                raise
            raise Conflict(conflict) from exc
