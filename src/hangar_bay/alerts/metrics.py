"""Alert metrics, registered on the app's (or worker's) own Prometheus registry."""

from __future__ import annotations

import weakref

from prometheus_client import Counter, Gauge, Histogram

from hangar_bay.core.metrics import Metrics


class AlertMetrics:
    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.notifications = Counter(
            "hangar_alerts_notifications_total",
            "Notifications created, by source kind (watch, search, notice).",
            ["kind"],
            registry=registry,
        )
        self.webhook_posts = Counter(
            "hangar_alerts_webhook_posts_total",
            "Discord webhook posts by outcome (sent, rate_limited, retry, failed, disabled).",
            ["outcome"],
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "hangar_alerts_outbox_backlog",
            "Discord deliveries waiting to be sent, as last observed.",
            registry=registry,
        )
        self.matcher_duration = Histogram(
            "hangar_alerts_matcher_duration_seconds",
            "Duration of one matcher run over the contracts new since the last.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=registry,
        )


_BY_METRICS: weakref.WeakKeyDictionary[Metrics, AlertMetrics] = weakref.WeakKeyDictionary()


def alert_metrics(metrics: Metrics | None) -> AlertMetrics | None:
    """The alert metrics of ``metrics``' registry, created on first use (one set per registry)."""
    if metrics is None:
        return None
    found = _BY_METRICS.get(metrics)
    if found is None:
        found = _BY_METRICS[metrics] = AlertMetrics(metrics)
    return found
