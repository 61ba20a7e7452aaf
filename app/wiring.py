"""Builds the Redis clients and a worker runtime from settings: the one place that picks implementations."""

from __future__ import annotations

import time
from collections.abc import Callable

import fakeredis
import redis
from redis.asyncio import BlockingConnectionPool as AsyncBlockingPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.settings import Settings
from graph.transport import ConcurrentSender, LoopThread, SandboxOutbox
from handover.abandon import watch_windows
from handover.agents import AgentStore
from handover.announce import announce_positions
from handover.assignment.liveness import drop_gone
from handover.assignment.push import Assigner
from handover.assignment.queues import RedisQueueView
from handover.botstats import end_idle
from handover.clockwatch import ClockWatch
from handover.numbers import knowing, load_numbers
from handover.retention import Retention
from handover.rules import versions
from handover.rules.bot import RuleBot
from handover.rules.directory import RulesDirectory
from handover.rules.holder import Rulebook, RulesHolder
from handover.store import Store
from handover.traffic.outbound import Sender, SendMany
from handover.traffic.processing import Processor
from handover.transfers import Transfers
from handover.warm import WarmTransfers
from workers.assigner import AssignerLoop
from workers.hooks import HookLoop
from workers.runtime import WorkerRuntime

# Redis away, restarting or hung must cost a caller seconds, not minutes: connect and read with timeouts,
# and retry a dropped connection once at once (a restart), never with redis-py's default backoff of several
# seconds. Callers retry at their own level: Meta redelivers after a 503, workers restart their loop.
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 5.0  # workers and desk: above every blocking read made with the client (BRPOP 1 s)
WEB_READ_TIMEOUT = 2.0  # the webhook: Meta gets its 503 within seconds even from a hung Redis
LIVE_READ_TIMEOUT = 15.0  # the desk's event reader blocks 5 s a read
LIVE_CONNECTIONS = 4  # that reader holds one, the presence writer one at a time


def _failing_fast(asynchronous: bool = False) -> dict[str, object]:
    # a connection dropped by a restart is retried once, at once; a read that timed out is not (the
    # server is hung: waiting twice helps nobody)
    retry = (AsyncRetry if asynchronous else Retry)(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
    return {"socket_connect_timeout": CONNECT_TIMEOUT, "retry": retry, "health_check_interval": 30}


def sync_client(settings: Settings, server: fakeredis.FakeServer | None = None) -> redis.Redis:
    """A blocking pool: under load it waits for a connection instead of failing (the plain pool raises)."""
    if server is not None:
        return fakeredis.FakeRedis(server=server, decode_responses=True)
    assert settings.redis_url
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        decode_responses=True,
        max_connections=32,
        timeout=10,
        socket_timeout=READ_TIMEOUT,
        **_failing_fast(),
    )
    return redis.Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections


def async_client(
    settings: Settings,
    server: fakeredis.FakeServer | None = None,
    read_timeout: float = WEB_READ_TIMEOUT,
    max_connections: int = 64,
) -> AsyncRedis:
    """The web process's client; `read_timeout` above the longest blocking read made with it (the desk's
    event reader blocks 5 s: it gets a client of its own, `live_client`)."""
    if server is not None:
        return fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    assert settings.redis_url
    pool = AsyncBlockingPool.from_url(
        settings.redis_url,
        decode_responses=True,
        max_connections=max_connections,
        timeout=CONNECT_TIMEOUT + READ_TIMEOUT,  # waiting for a free connection
        socket_timeout=read_timeout,
        **_failing_fast(asynchronous=True),
    )
    return AsyncRedis.from_pool(pool)


def live_client(
    settings: Settings, server: fakeredis.FakeServer | None = None, given: AsyncRedis | None = None
) -> AsyncRedis:
    """The desk's live connection (desk/live.py: the one event reader, and the presence marks written once
    a beat): a small pool of its own, so however many streams are open the webhook's pool never waits for
    them. Beside a client given to the app (`given`): a pool of its own to the same server."""
    if given is None:
        return async_client(settings, server, LIVE_READ_TIMEOUT, LIVE_CONNECTIONS)
    pool = given.connection_pool
    own = AsyncBlockingPool(
        connection_class=pool.connection_class,
        max_connections=LIVE_CONNECTIONS,
        timeout=CONNECT_TIMEOUT + READ_TIMEOUT,
        **{**pool.connection_kwargs, "socket_timeout": LIVE_READ_TIMEOUT},
    )
    return AsyncRedis.from_pool(own)


def worker_runtime(settings: Settings, client: redis.Redis, holder: Rulebook | None = None) -> WorkerRuntime:
    """Processor and sender over `client`; sends go to Meta with a token, else to the sandbox outbox.
    `holder`: the process's rules of every number, when it already has them (the web process shares its
    own)."""
    store = Store(client, transcript_max=settings.handover_transcript_max)
    closers = []
    send_many: SendMany
    if settings.is_sandbox:
        send_many = SandboxOutbox(client)
    else:
        from graph.client import GraphClient, make_session  # only processes that call Meta need it

        assert settings.whatsapp_access_token is not None
        token = settings.whatsapp_access_token.get_secret_value()
        loop = LoopThread()
        closers.append(loop.stop)  # closed last: what runs on the loop closes before it (in reverse order)

        async def open_client() -> GraphClient:
            session = make_session(settings.handover_send_concurrency)
            closers.append(lambda: loop.run(session.close(), timeout=5))
            return GraphClient(session, settings.whatsapp_api_url, token)

        graph = loop.run(open_client())
        send_many = ConcurrentSender(loop, graph.send, settings.handover_send_concurrency)
    holder = holder or rules_holder(settings, client, "worker")
    known = known_numbers(settings, client)
    bot = RuleBot(holder, RedisQueueView(client), RulesDirectory(holder))
    processor = Processor(
        store=store,
        bot=bot,
        partitions=settings.handover_partitions,
        rules=holder,
        phone_pause_seconds=settings.handover_phone_pause_minutes * 60,
    )
    return WorkerRuntime(
        client=client,
        processor=processor,
        # each number's queues by its own rules
        announce=lambda: announce_positions(store, holder, settings.handover_partitions, numbers=known),
        # the day-long watches: waiting customers whose window closed, bot conversations nobody continued
        watch_windows=lambda: (watch_windows(store, holder, numbers=known), end_idle(client, time.time())),
        watch_clocks=ClockWatch(store, holder, settings.handover_partitions).sweep,
        expire_offers=WarmTransfers(
            store, AgentStore(client), holder, settings.handover_partitions
        ).expire_offers,
        drop_gone_agents=lambda: drop_gone(
            client,
            AgentStore(client),
            Transfers(store, AgentStore(client), holder, settings.handover_partitions),
            settings.handover_presence_grace_seconds,
        ),
        expire_conversations=Retention(
            client, settings.handover_retention_days, settings.handover_partitions
        ).sweep,
        sender=Sender(store=store, send_many=send_many),
        batch_size=settings.handover_batch_size,
        lease_seconds=settings.handover_lease_seconds,
        partitions=settings.handover_partitions,
        on_close=closers,
    )


def assigner_loop(
    client: redis.Redis, holder: Rulebook, numbers: Callable[[], list[str]] | None = None
) -> AssignerLoop:
    """The push queues' assigner (one process among all decides at a time: see workers/assigner.py), over
    the push queues of every number in `numbers` (`known_numbers`)."""
    return AssignerLoop(client, Assigner(client, holder, numbers=numbers))


def known_numbers(settings: Settings, client: redis.Redis) -> Callable[[], list[str]]:
    """Every business number the deployment serves, asked afresh each time: those numbers.yaml lists,
    WHATSAPP_PHONE_NUMBER_IDS and those that reached the webhook (handover/numbers.py `known`)."""
    return knowing(client, load_numbers(settings.handover_rules), settings.whatsapp_phone_number_ids)


def hook_loop(settings: Settings, client: redis.Redis) -> HookLoop:
    """Events out: every worker process turns desk events into deliveries and posts them (workers/hooks)."""
    return HookLoop(
        client,
        LoopThread,
        settings.handover_hooks_retry_hours * 3600,
        settings.handover_hooks_allow,
        settings.handover_public_url,
    )


def rules_holder(settings: Settings, client: redis.Redis, kind: str, check_every: float = 2.0) -> Rulebook:
    """The process's rules of every number (HANDOVER_RULES: one file, or a folder with numbers.yaml),
    keeping every version each number loads in Redis (rules `history`). A bad numbers.yaml or rules file
    raises RulesError: at start there is nothing to fall back on."""
    numbers = load_numbers(settings.handover_rules)

    def holder(number: str | None) -> RulesHolder:
        return RulesHolder(
            numbers.rules_path(number),
            check_every=check_every,
            on_load=versions.recorder(client, kind, number),
        )

    return Rulebook(holder(None), {number: holder(number) for number in numbers.listed})
