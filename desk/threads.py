"""The one way the desk runs its synchronous services (Redis through redis-py) off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


async def in_thread(service: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `service` on a worker thread with the request's context (structlog's bound ids included) and
    await its result: every desk handler's hop to a service goes through here, so how that hop is made
    (a bounded pool, timing, tracing) is decided in one place."""
    return await asyncio.to_thread(service, *args, **kwargs)
