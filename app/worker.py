"""`handover worker`: drains the partition streams on threads of its own, and runs rq's loop for the
periodic jobs.

Drains were rq jobs once; with real traffic a drain handles a message or two, and an rq job costs ~70 Redis
commands of its own (job hash, registries, heartbeats), more than the messages it handled. A drain needs
none of it: the partition's lease already makes it exclusive and recoverable (a dead drainer's entries
are taken over after the lease), so the dispatcher hands wake-ups to threads here, and takes no more than
it has threads for, leaving the rest to the other worker processes."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import redis
import structlog
from rq import Queue, SimpleWorker
from rq.job import Job

from app import wiring
from app.errors import CommandError
from config.settings import Settings
from handover import upgrades
from handover.availability import is_unavailable
from handover.numbers import load_numbers
from handover.rules import versions
from handover.store import Store
from handover.traffic.streams import Lane, ensure_groups
from handover.traffic.wakeups import Wakeup, hand_back, pop_wakeups, sweep
from workers import jobs, runtime
from workers.dispatcher import Dispatcher, LocalDrains, Periodic

log = structlog.get_logger(__name__)

QUEUE = "handover"
INBOUND_THREADS = 2  # inbound drains at once per worker process: one computes while another waits on Redis
# Outbound drains at once per worker process, at most one per partition. A drain holds its partition's
# lease while Meta answers (~100 ms and more), so every partition may be sending at once: the threads
# mostly wait, and four of them made replies queue behind other customers' sends.
OUTBOUND_THREADS = 64
RESTART_PAUSE = 0.5  # seconds before rq's loop starts again after it stopped; doubles up to the max
MAX_RESTART_PAUSE = 5.0
NEEDS_REDIS = "handover worker needs REDIS_URL (`handover serve` runs its own worker without it)"


def drain_until_idle(client: redis.Redis, partitions: int, drain: Callable[[Lane, int], int]) -> None:
    """`--burst`: drain every partition with work, in this thread, until no wake-up is left."""
    sweep(client, partitions)
    while wakeups := list(pop_wakeups(client, timeout=0.1)):
        for wakeup in wakeups:
            drain(wakeup.lane, wakeup.partition)


def count_failure(job: Job, *exc_info: object) -> bool:
    Store.count(runtime.current().client, "job_failures")
    return True  # let rq's default handling (moving the job to the failed registry) run too


def run_worker(settings: Settings, burst: bool = False) -> None:
    """Run until stopped (or, with burst, until nothing is left). Needs REDIS_URL."""
    if settings.is_embedded:
        raise CommandError(NEEDS_REDIS)
    # SIGTERM/SIGINT from now on stop the worker cleanly, also before rq's loop installs its own handlers
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    client = wiring.sync_client(settings)
    ensure_groups(client, settings.handover_partitions)
    upgrades.forget_typed_identity(client)
    upgrades.queues_per_number(
        client, load_numbers(settings.handover_rules), settings.whatsapp_phone_number_ids
    )
    holder = wiring.rules_holder(settings, client, "worker")
    rt = wiring.worker_runtime(settings, client, holder)
    runtime.install(rt)
    reporter = versions.Reporter(client, holder, "worker")
    # rq stores pickled job data: it needs its own connection without response decoding.
    rq_connection = redis.Redis.from_url(settings.redis_url or "")
    queue = Queue(QUEUE, connection=rq_connection)

    def make_worker() -> SimpleWorker:
        # SimpleWorker runs jobs in this process, so the pooled Graph session and Redis pools live across
        # jobs.
        worker = StoppableWorker([queue], connection=rq_connection, exception_handlers=[count_failure])
        worker.stop_asked = stop
        return worker

    log.info(
        "worker_started", partitions=settings.handover_partitions, sandbox=settings.is_sandbox, burst=burst
    )
    # rq logs a line per job at INFO; drains are frequent and our own logs say what they did.
    rq_level = "DEBUG" if settings.handover_log_level.upper() == "DEBUG" else "WARNING"
    try:
        if burst:
            drain_until_idle(client, settings.handover_partitions, rt.drain)
            make_worker().work(burst=True, logging_level=rq_level)
            return
        grace = settings.handover_presence_grace_seconds
        duties = [
            Periodic(
                duty.name,
                duty.period(grace),
                functools.partial(
                    queue.enqueue, jobs.run_duty, duty.name, job_timeout=duty.timeout, result_ttl=0
                ),
            )
            for duty in jobs.DUTIES
        ]
        # each lane drains on threads of its own (see LocalDrains): sends wait on Meta, answers never do
        give_back = functools.partial(hand_back, client)  # stopping: wake-ups taken and not drained
        reads = LocalDrains(
            Lane.INBOUND, rt.drain, min(INBOUND_THREADS, settings.handover_partitions), give_back
        )
        sends = LocalDrains(
            Lane.OUTBOUND, rt.drain, min(OUTBOUND_THREADS, settings.handover_partitions), give_back
        )

        def dispatch(wakeup: Wakeup) -> None:
            (sends if wakeup.lane is Lane.OUTBOUND else reads).submit(wakeup.partition)

        # every worker process, idle or not, checks the rules file and says which version it runs
        report = Periodic("rules_report", versions.REPORT_SECONDS, reporter, everywhere=True)
        dispatcher = Dispatcher(
            client,
            settings.handover_partitions,
            dispatch,
            periodic=[*duties, report],
            room=reads.room,
        )
        dispatcher.start()
        assigner = wiring.assigner_loop(client, holder, wiring.known_numbers(settings, client))
        assigner.start()
        hooks = wiring.hook_loop(settings, client)
        hooks.start()
        try:
            work_until_stopped(make_worker, client, rq_level, stop)
        finally:
            hooks.stop()
            assigner.stop()
            dispatcher.stop()
            reads.stop()
            sends.stop()
            with contextlib.suppress(Exception):  # it lapses by itself if Redis is away
                reporter.withdraw()
    finally:
        rt.close()


class StoppableWorker(SimpleWorker):
    """rq's SimpleWorker, which also honours a SIGTERM that came before its loop installed its handlers."""

    stop_asked: threading.Event = threading.Event()

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()  # type: ignore[no-untyped-call]
        if self.stop_asked.is_set():
            self._stop_requested = True  # the loop checks this before taking a job
            self._shutdown_requested_date = datetime.now(UTC)


def work_until_stopped(
    make_worker: Callable[[], SimpleWorker], client: redis.Redis, rq_level: str, stop: threading.Event
) -> None:
    """rq's loop until SIGTERM/SIGINT. rq quits its loop when Redis goes away (a heartbeat write fails):
    then wait for Redis to answer and start a fresh loop, so a Redis restart costs a pause, not the worker.
    Restarts back off, in case what stopped rq was not Redis."""
    pause = RESTART_PAUSE
    while not stop.is_set():
        worker: SimpleWorker | None = None
        started = time.monotonic()
        try:
            worker = make_worker()  # rq asks Redis things as it is made, and as it starts and ends
            worker.work(logging_level=rq_level)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
        if stop.is_set() or (worker is not None and worker._shutdown_requested_date is not None):
            return  # SIGTERM/SIGINT: rq finished the job at hand
        pause = RESTART_PAUSE if time.monotonic() - started > 30 else min(pause * 2, MAX_RESTART_PAUSE)
        log.warning("worker_loop_stopped", restart_in=pause)
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            _wait_for_redis(client, stop, pause)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if stop.is_set():
            return
        log.info("worker_loop_restarted")
        with contextlib.suppress(Exception):  # /metrics: handover_worker_restarts
            Store.count(client, "worker_restarts")


def _wait_for_redis(client: redis.Redis, stop: threading.Event, pause: float) -> None:
    while not stop.wait(pause):
        try:
            client.ping()
            return
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning("worker_redis_unavailable", error=type(exc).__name__)
            pause = min(pause * 2, MAX_RESTART_PAUSE)
