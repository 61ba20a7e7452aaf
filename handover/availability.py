"""Whether Redis failed for reasons of its own: down, restarting, loading its data, a read-only replica, out
of memory. Such failures keep the work where it is, to be retried; they are never blamed on the data (no
dead-lettering) and the webhook answers 503 so Meta delivers again."""

from __future__ import annotations

import redis

UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.ConnectionError,  # also BusyLoadingError (restarting, loading the AOF) and AuthenticationError
    redis.TimeoutError,
    redis.exceptions.OutOfMemoryError,  # maxmemory with noeviction: writes refused
    redis.exceptions.ReadOnlyError,  # a replica, e.g. during a failover
    redis.exceptions.TryAgainError,
    OSError,
)
# The same conditions where only the reply's first word says so (inside a pipeline, or older servers).
_REPLIES = ("OOM ", "READONLY ", "MISCONF ", "LOADING ", "BUSY ", "MASTERDOWN ", "TRYAGAIN ", "NOREPLICAS ")


def is_unavailable(exc: BaseException) -> bool:
    """True when Redis could not do it now (retry later), False when the request itself was wrong."""
    if isinstance(exc, UNAVAILABLE):
        return True
    return isinstance(exc, redis.ResponseError) and str(exc).upper().startswith(_REPLIES)
