"""The fake Graph API in a process of its own, telling the load generator of every send as it arrives.

Run as `python -m bench.graph_process LATENCY`: prints `port N`, then one line per send: `m <time> <to>`
for a message, `r <time> <message id>` for a read receipt; <time> is time.perf_counter(), which is
CLOCK_MONOTONIC on Linux, the same clock in every process. Its own process, so answering thousands of
sends a second takes no interpreter time from the customers it reports to (they time their latencies).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from tests.fakes.graph_server import FakeGraph


class Reporter:
    """Lines written as sends arrive, flushed once per turn of the loop (not once per line)."""

    def __init__(self) -> None:
        self.out = sys.stdout.buffer
        self.pending = False

    def __call__(self, body: dict[str, Any], arrived: float) -> None:
        if body.get("status") == "read":
            self.out.write(f"r {arrived:.6f} {body.get('message_id', '')}\n".encode())
        else:
            self.out.write(f"m {arrived:.6f} {body.get('to') or body.get('recipient', '')}\n".encode())
        if not self.pending:
            self.pending = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.pending = False
        self.out.flush()


async def serve(latency: float) -> None:
    async with FakeGraph(latency, record=False, on_send=Reporter()) as graph:
        sys.stdout.write(f"port {graph.port}\n")
        sys.stdout.flush()
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1])))
