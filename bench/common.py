"""What several bench sections share: where logs go, the servers' environment, and the rq baseline."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import redis
from rq import Queue

from tests.support.webhook import SECRET

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "bench" / "results"  # git-ignored


def server_env(redis_url: str, port: int, graph_url: str = "http://127.0.0.1:9") -> dict[str, str]:
    """`handover serve` and `handover worker` on a line (not the sandbox), logging at their default level
    (INFO), as deployed: what logging costs is part of what is measured."""
    return {
        "REDIS_URL": redis_url,
        "WHATSAPP_ACCESS_TOKEN": "bench",
        "WHATSAPP_APP_SECRET": SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "bench",
        "WHATSAPP_API_URL": graph_url,
        "HANDOVER_PORT": str(port),
    }


def rq_noop_rate(redis_url: str, jobs: int) -> float:
    """Jobs a second two rq burst workers (processes) get through when each job does nothing."""
    from bench.noop import noop

    connection = redis.Redis.from_url(redis_url)
    queue = Queue("bench-noop", connection=connection)
    with connection.pipeline() as pipe:
        for _ in range(jobs):
            queue.enqueue(noop, result_ttl=0, pipeline=pipe)
        pipe.execute()
    started = time.perf_counter()
    # Two burst workers as separate processes: the same parallelism the handover workers get.
    code = (
        "import redis,sys; from rq import Queue, SimpleWorker; c=redis.Redis.from_url(sys.argv[1]); "
        "SimpleWorker([Queue('bench-noop', connection=c)], connection=c).work(burst=True, "
        "logging_level='WARNING')"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, redis_url], cwd=ROOT) for _ in range(2)]
    for proc in procs:
        proc.wait()
    elapsed = time.perf_counter() - started
    connection.close()
    return jobs / elapsed
