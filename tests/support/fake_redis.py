"""fakeredis clients for in-test apps: the app's async and sync clients on the same fake server."""

from __future__ import annotations

import fakeredis


def sync_beside(fake: fakeredis.FakeAsyncRedis) -> fakeredis.FakeRedis:
    """A synchronous client on the fake server `fake` uses (the app's desk and rules reports use one:
    without it they would try the settings' REDIS_URL)."""
    return fakeredis.FakeRedis(server=fake.connection_pool.connection_kwargs["server"], decode_responses=True)
