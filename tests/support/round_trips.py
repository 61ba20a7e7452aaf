"""Counting a synchronous client's round trips to Redis: each command sent alone is one, each pipeline
executed with commands in it is one (with or without MULTI). Each trip is recorded as the names of the
commands it carried, so a test can say what went together."""

from __future__ import annotations

from typing import Any

import redis


class RoundTrips:
    """Wraps `client` (its own attributes only: other clients on the same server are not counted)."""

    def __init__(self, client: redis.Redis) -> None:
        self.trips: list[list[str]] = []
        execute_command, pipeline = client.execute_command, client.pipeline

        def one(*args: Any, **options: Any) -> Any:
            self.trips.append([str(args[0]).upper()])
            return execute_command(*args, **options)

        def pipelined(*args: Any, **kwargs: Any) -> Any:
            pipe = pipeline(*args, **kwargs)
            execute = pipe.execute

            def counted(*eargs: Any, **ekwargs: Any) -> Any:
                if pipe.command_stack:
                    self.trips.append([str(c[0][0]).upper() for c in pipe.command_stack])
                return execute(*eargs, **ekwargs)

            pipe.execute = counted
            return pipe

        client.execute_command = one
        client.pipeline = pipelined

    def reset(self) -> None:
        self.trips.clear()
