"""The webhook's own counters, per web process."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class WebhookMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.received = Counter(
            "handover_webhooks_received", "Webhook POSTs received", registry=self.registry
        )
        self.rejected = Counter(
            "handover_webhooks_rejected", "Webhook POSTs refused", ["reason"], registry=self.registry
        )
        self.items = Counter(
            "handover_webhook_items", "Items stored from webhooks", ["type"], registry=self.registry
        )
        self.duplicates = Counter(
            "handover_webhook_duplicates", "Items WhatsApp delivered again", registry=self.registry
        )
        self.unrouted = Counter(
            "handover_webhook_unrouted",
            "Items for numbers this deployment does not serve",
            registry=self.registry,
        )
        self.latency = Histogram(
            "handover_webhook_seconds",
            "Time to verify, store and answer a webhook",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.loop_lag = Gauge(
            "handover_event_loop_lag_seconds",
            "How late this process's event loop runs, damped; past HANDOVER_MAX_LOOP_LAG_MS webhooks get 503",
            registry=self.registry,
        )
