"""How sends leave the process: concurrently to the Graph API over one pooled session, or to the sandbox."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import redis
import structlog

from graph.errors import GraphError
from handover import keys
from handover.clock import Clock, system_clock
from handover.message import OutboundKind, OutboundRequest, SendOutcome
from handover.traffic.enqueue import OutboundJob

log = structlog.get_logger(__name__)

SendOne = Callable[[OutboundRequest], Awaitable[SendOutcome]]


class LoopThread:
    """An asyncio loop on a daemon thread, so synchronous rq jobs can share one pooled HTTP session."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="graph-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run_with_keepalive(
        self, coro: Coroutine[Any, Any, Any], keepalive: Callable[[], None], every: float = 2.0
    ) -> Any:
        """Wait for `coro`, calling `keepalive` every `every` seconds; if it raises, cancel and re-raise."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        while True:
            try:
                return future.result(every)
            except concurrent.futures.TimeoutError:
                try:
                    keepalive()
                except BaseException:
                    future.cancel()
                    raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class ConcurrentSender:
    """Sends many conversations' messages at once (bounded), each conversation's in order.

    After a retryable failure the rest of that conversation's sends are left unattempted (None) so they
    retry behind it instead of overtaking it.
    """

    def __init__(self, loop: LoopThread, send_one: SendOne, concurrency: int) -> None:
        self.loop = loop
        self.send_one = send_one
        self.concurrency = concurrency

    def __call__(
        self, groups: list[list[OutboundJob]], keepalive: Callable[[], None]
    ) -> dict[str, SendOutcome | None]:
        return self.loop.run_with_keepalive(self._send_all(groups), keepalive)  # type: ignore[no-any-return]

    async def _send_all(self, groups: list[list[OutboundJob]]) -> dict[str, SendOutcome | None]:
        limit = asyncio.Semaphore(self.concurrency)
        outcomes: dict[str, SendOutcome | None] = {}

        async def send_group(group: list[OutboundJob]) -> None:
            for index, job in enumerate(group):
                async with limit:
                    outcome = await self._attempt(job)
                outcomes[job.id] = outcome
                if not outcome.ok and outcome.retryable:
                    for held in group[index + 1 :]:
                        outcomes[held.id] = None
                    return

        await asyncio.gather(*(send_group(group) for group in groups))
        return outcomes

    async def _attempt(self, job: OutboundJob) -> SendOutcome:
        try:
            return await self.send_one(job.request)
        except GraphError as exc:
            log.warning(
                "graph_error",
                **job.log_fields,
                status=exc.status,
                error_code=exc.code,
                retryable=exc.retryable,
            )
            return exc.to_outcome()
        except Exception:  # a bug or an unexpected network failure: retry rather than lose the send
            log.exception("send_crashed", **job.log_fields)
            return SendOutcome(ok=False, error_code=0, error_title="unexpected send failure", retryable=True)


class SandboxOutbox:
    """The sandbox's stand-in for Meta: every send is kept in Redis for the simulator and the tests."""

    def __init__(self, client: redis.Redis, keep: int = 500, clock: Clock = system_clock) -> None:
        self.client = client
        self.keep = keep
        self.clock = clock

    def __call__(
        self, groups: list[list[OutboundJob]], keepalive: Callable[[], None]
    ) -> dict[str, SendOutcome | None]:
        outcomes: dict[str, SendOutcome | None] = {}
        with self.client.pipeline(transaction=False) as pipe:
            for group in groups:
                for job in group:
                    wamid = (
                        None
                        if job.request.kind is OutboundKind.MARK_READ
                        else f"wamid.sandbox.{uuid.uuid4().hex}"
                    )
                    record = {
                        "id": wamid,
                        "at": self.clock(),
                        **job.request.model_dump(mode="json", exclude_none=True),
                    }
                    body = json.dumps(record, ensure_ascii=False)
                    for key in (keys.outbox_key(job.request.to), keys.SANDBOX_OUTBOX_ALL):
                        pipe.rpush(key, body)
                        pipe.ltrim(key, -self.keep, -1)
                    outcomes[job.id] = SendOutcome(ok=True, wa_message_id=wamid)
            pipe.execute()
        return outcomes
