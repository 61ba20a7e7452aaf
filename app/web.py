"""The root aiohttp app: webhook, health, metrics, sandbox; in embedded mode also Redis and a worker."""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

import fakeredis
import redis
import structlog
from aiohttp import web
from redis.asyncio import Redis as AsyncRedis

from app import metrics, wiring
from config.settings import Settings
from desk import api as desk_api
from desk import console
from desk.budgets import MB, ByteBudget, MediaLimits, PerAgent
from desk.guard import GUARD, TokenGuard, networks
from desk.http import DESK, MIDDLEWARES, DeskContext
from desk.live import EventHub
from desk.share import AgentShare
from desk.spool import MediaSpool
from desk.tasks import stopped
from handover.agents import AgentStore, Presence, Role
from handover.assignment.claims import Assignments
from handover.assignment.liveness import heartbeat_seconds
from handover.media import MediaSource
from handover.numbers import load_numbers
from handover.rules import versions
from handover.rules.holder import Rulebook
from handover.store import Store
from handover.traffic.streams import ensure_groups
from handover.transfers import Transfers
from handover.warm import WarmTransfers
from webhooks import sandbox, views
from webhooks.gate import BodyGate
from webhooks.pressure import LoopLag
from webhooks.sandbox_media import SandboxMedia
from webhooks.views import WEBHOOK, WebhookContext
from workers.dispatcher import Dispatcher, Periodic
from workers.jobs import DUTIES

log = structlog.get_logger(__name__)

SETTINGS = web.AppKey("settings", Settings)
CLIENT_MAX_SIZE = views.MAX_BODY_BYTES + 1024  # aiohttp answers 413 past this


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[WEBHOOK].redis.ping()
    except Exception as exc:  # any failure to reach Redis means not ready
        return web.json_response({"status": "unavailable", "redis": type(exc).__name__}, status=503)
    return web.json_response({"status": "ready"})


def build_app(
    settings: Settings, redis_client: AsyncRedis | None = None, sync_client: redis.Redis | None = None
) -> web.Application:
    """The whole HTTP surface. With no REDIS_URL (and no client given) it embeds Redis and a worker.

    The webhook uses the async client; the desk calls the same services as the workers, over a
    synchronous client, in threads."""
    app = web.Application(client_max_size=CLIENT_MAX_SIZE, middlewares=MIDDLEWARES)
    app[SETTINGS] = settings
    app[GUARD] = TokenGuard(
        limit=settings.handover_token_failures_per_minute,
        proxies=networks(settings.handover_trusted_proxies),
    )
    app.cleanup_ctx.append(_resources(settings, redis_client, sync_client))
    app.add_routes(views.routes())
    app.add_routes(desk_api.routes())
    app.add_routes(console.routes(sandbox=settings.sandbox_routes))
    app.add_routes(
        [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics.metrics)]
    )
    if settings.sandbox_routes:
        app.add_routes(sandbox.routes())
    if settings.is_sandbox and settings.is_embedded and redis_client is None:
        app[DEMO_AGENTS] = []
        app.add_routes([web.get("/sandbox/demo-agents", demo_agents)])
    return app


def _resources(settings: Settings, given: AsyncRedis | None, given_sync: redis.Redis | None):  # type: ignore[no-untyped-def]
    async def resources(app: web.Application) -> AsyncIterator[None]:
        server = fakeredis.FakeServer() if given is None and settings.is_embedded else None
        client = given or wiring.async_client(settings, server)
        # the event reader (blocking 5 s a read) and the streams' presence marks: a pool of their own
        hub_client = wiring.live_client(settings, server, given)
        sync = given_sync or wiring.sync_client(settings, server)
        # the rules reporter below looks at the file every 2 s on a thread, so a desk request never reads
        # the file or records a new version from the event loop
        holder = wiring.rules_holder(settings, sync, "web", check_every=math.inf)
        store = Store(sync, transcript_max=settings.handover_transcript_max)
        agents = AgentStore(sync)
        if settings.handover_media_dir is not None:
            settings.handover_media_dir.mkdir(parents=True, exist_ok=True)
        spool_dir = Path(tempfile.mkdtemp(prefix="handover-media-", dir=settings.handover_media_dir))
        media_source, close_media = _media_source(settings, spool_dir)
        retry_after = math.ceil(settings.handover_body_timeout_seconds)
        app[DESK] = DeskContext(
            assignments=Assignments(
                store, settings.handover_partitions, holder, numbers=wiring.known_numbers(settings, sync)
            ),
            agents=agents,
            store=store,
            rules=holder,
            transfers=Transfers(store, agents, holder, settings.handover_partitions),
            warm=WarmTransfers(store, agents, holder, settings.handover_partitions),
            hub=EventHub(
                hub_client,
                heartbeat_seconds(settings.handover_presence_grace_seconds),
                streams_per_agent=settings.handover_streams_per_agent,
            ),
            media=MediaSpool(
                media_source,
                spool_dir / "spool",
                disk_bytes=settings.handover_media_disk_mb * MB,
                downloads=MEDIA_CONNECTIONS,
            ),
            media_limits=MediaLimits(
                PerAgent(settings.handover_media_per_agent),
                PerAgent(settings.handover_uploads_per_agent),
                ByteBudget(settings.handover_uploads_mb * MB),
                retry_after,
            ),
            body_timeout=settings.handover_body_timeout_seconds,
            notes_max=settings.handover_notes_max,
            notes_per_minute=settings.handover_notes_per_minute,
            hooks_allow=settings.handover_hooks_allow,
            share=AgentShare(settings.handover_requests_per_agent, retry_after),
            numbers=load_numbers(settings.handover_rules),
            phone_number_ids=settings.whatsapp_phone_number_ids,
        )
        await app[DESK].hub.start()
        app[WEBHOOK] = WebhookContext(
            redis=client,
            app_secret=settings.app_secret(),
            verify_token=settings.verify_token(),
            partitions=settings.handover_partitions,
            serves=settings.serves_number,
            gate=BodyGate(settings.handover_webhook_concurrency, settings.handover_body_timeout_seconds),
            pressure=LoopLag(settings.handover_max_loop_lag_ms / 1000),  # checking once app/edge.py serves
        )
        embedded = _start_embedded_worker(settings, server, holder) if server is not None else None
        reporter = versions.Reporter(sync, holder, "web")
        reports = asyncio.create_task(_report_rules(reporter))
        if server is not None and settings.is_sandbox:  # never beside a real WhatsApp number
            made = _demo_agents(app[DESK], holder)
            if DEMO_AGENTS in app:  # the sign-in page offers them (embedded sandbox)
                app[DEMO_AGENTS][:] = made
        elif server is not None:
            log.warning(
                "embedded_without_agents",
                detail="no demo agents beside a real WhatsApp number, and `handover agents add` cannot reach "
                "the in-process Redis: set REDIS_URL to have a desk",
            )
        try:
            yield
        finally:
            await _stop_reporting(reports, reporter)
            await app[DESK].hub.stop()
            await app[DESK].media.close()
            await close_media()
            shutil.rmtree(spool_dir, ignore_errors=True)
            if embedded is not None:
                embedded()
            await hub_client.aclose()
            if given is None:
                await client.aclose()
            if given_sync is None:
                sync.close()

    return resources


def _media_source(settings: Settings, folder: Path) -> tuple[MediaSource, Callable[[], Awaitable[None]]]:
    """Where customers' media come from for the desk: the sandbox's samples (and agents' uploads, kept in
    `folder`), or Meta's Graph API over a session of this process's own; and how to close it."""
    if settings.is_sandbox:

        async def nothing() -> None:
            return None

        return SandboxMedia(folder / "sandbox-uploads"), nothing
    from graph.client import GraphClient, make_session  # only a process that calls Meta needs it
    from graph.media import GraphMedia

    assert settings.whatsapp_access_token is not None
    session = make_session(MEDIA_CONNECTIONS)
    graph = GraphClient(session, settings.whatsapp_api_url, settings.whatsapp_access_token.get_secret_value())
    return GraphMedia(graph), session.close


MEDIA_CONNECTIONS = 8  # concurrent media downloads from Meta per web process


DEMO_AGENTS = web.AppKey("demo_agents", list)


def _demo_agents(ctx: DeskContext, rules: Rulebook) -> list[dict[str, str]]:
    """Embedded mode cannot use `handover agents add` (its Redis lives in this process): make a demo agent
    and a demo supervisor, whose tokens the console's sign-in page offers (embedded sandbox only)."""
    queues = list(rules().rules.queues)
    made = []
    for name, role in (("Ana (demo)", Role.AGENT), ("Bia (demo supervisor)", Role.SUPERVISOR)):
        agent, token = ctx.agents.add(name, queues, capacity=3 if role is Role.AGENT else 10, role=role)
        ctx.agents.set_status(agent.id, Presence.AVAILABLE)
        made.append({"id": agent.id, "name": name, "role": role.value, "token": token})
    log.warning(
        "sandbox_agents_created",
        agents=[{"name": a["name"], "token": a["token"]} for a in made],
        detail="embedded mode only: the console offers them at sign-in; or `Authorization: Bearer <token>`",
    )
    return made


async def demo_agents(request: web.Request) -> web.Response:
    """Embedded sandbox only: the demo agents' tokens, so someone trying the project can sign in."""
    return web.json_response({"agents": request.app[DEMO_AGENTS]})


async def _report_rules(reporter: versions.Reporter) -> None:
    """Every few seconds: check the rules file and report the version this process runs (the embedded
    worker shares the web process's rules, so one report covers both)."""
    while True:
        try:
            await asyncio.to_thread(reporter)
        except Exception as exc:  # Redis away: the report lapses and `rules reload` says so
            log.warning("rules_report_failed", error=type(exc).__name__)
        await asyncio.sleep(versions.REPORT_SECONDS)


async def _stop_reporting(reports: asyncio.Task[None], reporter: versions.Reporter) -> None:
    await stopped(reports)
    with contextlib.suppress(Exception):  # a clean stop leaves the count at once; else it lapses
        await asyncio.to_thread(reporter.withdraw)


def _start_embedded_worker(settings: Settings, server: fakeredis.FakeServer, holder: Rulebook):  # type: ignore[no-untyped-def]
    """Development mode: an in-process worker drains the streams on the same in-process Redis."""
    log.warning(
        "embedded_mode",
        detail="no REDIS_URL: in-process Redis and worker, data lost on exit; not for production",
    )
    client = wiring.sync_client(settings, server)
    ensure_groups(client, settings.handover_partitions)
    runtime = wiring.worker_runtime(settings, client, holder)
    dispatcher = Dispatcher(
        client,
        settings.handover_partitions,
        lambda wakeup: runtime.drain(wakeup.lane, wakeup.partition),
        sweep_seconds=0.5,
        periodic=[
            Periodic(
                duty.name, duty.period(settings.handover_presence_grace_seconds), partial(duty.run, runtime)
            )
            for duty in DUTIES
        ],
    )
    dispatcher.start()
    assigner = wiring.assigner_loop(client, holder, wiring.known_numbers(settings, client))
    assigner.start()
    hooks = wiring.hook_loop(settings, client)
    hooks.start()

    def stop() -> None:
        hooks.stop()
        assigner.stop()
        dispatcher.stop()
        runtime.close()

    return stop
