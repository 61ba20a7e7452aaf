"""GET /metrics: this process's webhook counters, plus the workers' counters and backlog from Redis.

Redis away, the scrape still answers 200 with what this process knows and `handover_redis_up 0`, as
Prometheus exporters do (`redis_up`, `mysql_up`): a failed scrape would lose the webhook's own counters
(refusals, 503s) exactly when they matter, and would read as this process being down. The shared counters
are left out rather than shown as 0, which would look like a reset to `rate()`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from desk.http import DESK, DeskContext
from handover import kpis
from handover.availability import is_unavailable
from handover.hooks import outbox
from handover.hooks.outbox import Breaker
from handover.store import shared_counters
from handover.traffic.wakeups import backlog
from webhooks.views import WEBHOOK

log = structlog.get_logger(__name__)


class SharedCounters(Collector):
    """Counters kept in Redis by every worker process, with the streams' backlog and oldest-item age."""

    def __init__(self, counters: dict[str, str], backlog: dict[str, int], oldest_ms: int | None) -> None:
        self.counters = counters
        self.backlog = backlog
        self.oldest_ms = oldest_ms

    def collect(self) -> Iterator[Metric]:
        simple = {
            "messages_processed": "Customer messages applied to conversations",
            "statuses_processed": "Delivery statuses applied",
            "outbound_sent": "Sends WhatsApp accepted",
            "outbound_retried": "Sends scheduled for another try",
            "malformed_entries": "Stream entries that could not be read",
            "dead_lettered": "Entries moved to the dead-letter stream",
            "job_failures": "rq jobs that raised",
            "receipts_sent": "Read receipts sent",
            "receipts_covered": "Read receipts not needed: a newer one marked the message read",
            "escalations": "Conversations the bot handed over to a queue",
            "abandoned": "Waits that ended without an agent (by reason: handover_abandoned_by_reason)",
            "claimed": "Conversations agents took from a queue",
            "resolved": "Conversations agents closed",
            "released": "Conversations agents handed back to the bot",
            "outbound_held_back": "Sends put in line behind one of their conversation being retried",
            "worker_restarts": "Worker loops started again after Redis was away",
            "offers": "Waiting conversations the assigner offered to an agent (push queues)",
            "offers_accepted": "Offers the agent accepted in time",
            "offers_declined": "Offers the agent declined",
            "offers_expired": "Offers nobody answered in time",
            "offers_withdrawn": "Offers withdrawn because the agent left (away, offline)",
            "conversations_expired": "Closed or idle conversations deleted past HANDOVER_RETENTION_DAYS",
            "agent_silent": "Customer messages left unanswered past the queue's agent_reply_seconds",
            "agent_silent_requeued": "Conversations sent back to their queue from a silent agent",
            "idle_reminded": "Reminders sent to customers who stopped answering the agent",
            "idle_closed": "Conversations resolved because the customer stopped answering (customer_idle)",
        }
        for name, doc in simple.items():
            yield CounterMetricFamily(f"handover_{name}", doc, value=float(self.counters.get(name, 0)))
        labelled = [  # counters kept as "<prefix>:<label value>" fields
            ("outbound_failed", "Sends that failed for good", "code"),
            ("csat", "Satisfaction survey answers", "score"),
            ("bot_decisions", "Decisions the bot made, by the rule that made them", "rule"),
        ]
        for prefix, doc, label in labelled:
            family = CounterMetricFamily(f"handover_{prefix}", doc, labels=[label])
            for name, value in self.counters.items():
                if name.startswith(f"{prefix}:"):
                    family.add_metric([name.split(":", 1)[1]], float(value))
            yield family
        transfers = CounterMetricFamily("handover_transfers", "Transfers done", labels=["mode"])
        for mode in ("cold", "warm"):
            transfers.add_metric([mode], float(self.counters.get(f"transfers:{mode}", 0)))
        yield transfers
        yield from kpi_metrics(self.counters)
        durations = {
            "queue_wait_seconds": "From asking for a person to an agent taking the conversation",
            "agent_first_reply_seconds": "From a conversation becoming an agent's to their first reply",
            "handle_seconds": "From the resolving agent getting the conversation to resolving it",
            "assign_seconds": "Push queues: from asking for a person to the assigner's agent having it",
        }
        for name, doc in durations.items():
            yield SummaryMetricFamily(
                f"handover_{name}",
                doc,
                count_value=int(self.counters.get(f"{name}_count", 0)),
                sum_value=float(self.counters.get(f"{name}_sum", 0)),
            )
        backlog = GaugeMetricFamily(
            "handover_stream_backlog", "Entries waiting or in flight", labels=["lane"]
        )
        for lane, count in self.backlog.items():
            backlog.add_metric([lane], count)
        yield backlog
        lag = 0.0 if self.oldest_ms is None else max(0.0, time.time() - self.oldest_ms / 1000)
        yield GaugeMetricFamily(
            "handover_processing_lag_seconds", "Age of the oldest unprocessed inbound item", value=lag
        )


def kpi_metrics(counters: dict[str, str]) -> Iterator[Metric]:
    """The contact-centre KPIs' counters (docs/operations.md, "KPIs"): rates are left to PromQL."""
    abandoned = CounterMetricFamily(
        "handover_abandoned_by_reason", "Waits that ended without an agent, by why", labels=["reason"]
    )
    for reason in kpis.ABANDON_REASONS:
        abandoned.add_metric([reason], float(counters.get(f"abandoned:{reason}", 0)))
    yield abandoned
    for reason in kpis.ABANDON_REASONS:
        name = f"abandoned_wait_seconds:{reason}"
        yield SummaryMetricFamily(
            f"handover_abandoned_wait_seconds_{reason}",
            f"How long customers waited before abandoning ({reason})",
            count_value=int(float(counters.get(f"{name}_count", 0))),
            sum_value=float(counters.get(f"{name}_sum", 0)),
        )
    for within, doc in (
        ("sla_met", "Waits an agent ended within the queue's sla_seconds"),
        ("sla_missed", "Waits an agent ended after the queue's sla_seconds"),
    ):
        family = CounterMetricFamily(f"handover_{within}", doc, labels=["queue"])
        for name, value in sorted(counters.items()):
            if name.startswith("queue:") and name.endswith(f":{within}"):
                family.add_metric([name.split(":")[1]], float(value))
        yield family
    per_conversation = CounterMetricFamily(
        "handover_resolved_by_transfers",
        "Resolved conversations by how many transfers they had",
        labels=["transfers"],
    )
    for band in kpis.TRANSFER_BANDS:
        per_conversation.add_metric([band], float(counters.get(kpis.TRANSFERS_FIELD + band, 0)))
    yield per_conversation
    yield CounterMetricFamily(
        "handover_fcr_came_back",
        "Resolved conversations whose customer came back within kpis.fcr_days (FCR = 1 - this / resolved)",
        value=float(counters.get("fcr_came_back", 0)),
    )


class MediaOnDisk(Collector):
    """This web process's media spool (desk/spool.py) and upload budget (desk/budgets.py)."""

    def __init__(self, desk: DeskContext) -> None:
        self.spool, self.limits = desk.media, desk.media_limits

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "handover_media_disk_bytes",
            "Customers' media kept on disk by this process",
            value=self.spool.used,
        )
        yield GaugeMetricFamily(
            "handover_media_disk_limit_bytes", "HANDOVER_MEDIA_DISK_MB, in bytes", value=self.spool.disk_bytes
        )
        yield CounterMetricFamily(
            "handover_media_downloads",
            "Media downloads from WhatsApp this process started (one per media, however many asked for it)",
            value=self.spool.downloads_started,
        )
        yield GaugeMetricFamily(
            "handover_media_upload_bytes",
            "Agents' upload bytes on their way in",
            value=self.limits.upload_bytes.held,
        )


class HookFigures(Collector):
    """Events out, per hook (at most hooks.store.MAX_HOOKS): deliveries sent and failed, their time, and
    whether the hook's breaker is open now."""

    def __init__(self, counters: dict[str, float], breakers: dict[str, Breaker], now: float) -> None:
        self.counters, self.breakers, self.now = counters, breakers, now

    def collect(self) -> Iterator[Metric]:
        hooks = sorted({name.split(":", 1)[1] for name in self.counters} | set(self.breakers))
        outcomes = CounterMetricFamily(
            "handover_hook_deliveries", "Attempts to deliver events to hooks", labels=["hook", "outcome"]
        )
        seconds = SummaryMetricFamily(
            "handover_hook_delivery_seconds", "How long hooks took to answer", labels=["hook"]
        )
        opened = CounterMetricFamily(
            "handover_hook_breaker_opened", "Times a hook's breaker opened", labels=["hook"]
        )
        open_now = GaugeMetricFamily(
            "handover_hook_breaker_open", "1 while a hook's breaker is open", labels=["hook"]
        )
        for hook in hooks:
            for outcome in ("sent", "failed"):
                outcomes.add_metric([hook, outcome], self.counters.get(f"{outcome}:{hook}", 0.0))
            seconds.add_metric(
                [hook],
                count_value=int(self.counters.get(f"seconds_count:{hook}", 0.0)),
                sum_value=self.counters.get(f"seconds_sum:{hook}", 0.0),
            )
            opened.add_metric([hook], self.counters.get(f"breaker_opened:{hook}", 0.0))
            breaker = self.breakers.get(hook)
            open_now.add_metric([hook], 1.0 if breaker is not None and breaker.is_open(self.now) else 0.0)
        yield from (outcomes, seconds, opened, open_now)


async def metrics(request: web.Request) -> web.Response:
    ctx = request.app[WEBHOOK]
    registry = CollectorRegistry()
    reachable = Gauge(
        "handover_redis_up", "1 if this scrape read the shared counters from Redis", registry=registry
    )
    try:
        waiting = await backlog(ctx.redis, ctx.partitions)
        counters = await shared_counters(ctx.redis)
        hook_counters, breakers = await outbox.figures(ctx.redis)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("metrics_store_unavailable", error=type(exc).__name__)
        reachable.set(0)
    else:
        registry.register(SharedCounters(counters, waiting.entries, waiting.oldest_inbound_ms))
        registry.register(HookFigures(hook_counters, breakers, time.time()))
        reachable.set(1)
    if DESK in request.app:
        registry.register(MediaOnDisk(request.app[DESK]))
    body = generate_latest(ctx.metrics.registry) + generate_latest(registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
