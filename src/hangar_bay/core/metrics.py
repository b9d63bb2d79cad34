"""Prometheus metrics: one registry per app instance, shared by every domain.

A registry per :class:`Metrics` (not the global default) keeps tests independent:
each app built by a test counts only its own requests.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "hangar_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "hangar_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache_errors = Counter(
            "hangar_cache_errors_total",
            "Cache operations that failed and fell through.",
            ["operation"],
            registry=self.registry,
        )
        self.cache_skipped = Counter(
            "hangar_cache_skipped_total",
            "Cache operations skipped because the circuit breaker is open.",
            ["operation"],
            registry=self.registry,
        )
        self.cache_circuit_open = Gauge(
            "hangar_cache_circuit_open",
            "1 while the cache circuit breaker is open (the cache is skipped), else 0.",
            registry=self.registry,
        )
        self.cache_up = Gauge(
            "hangar_cache_up",
            "1 when the cache answered the last readiness check, else 0.",
            registry=self.registry,
        )
        self.database_up = Gauge(
            "hangar_database_up",
            "1 when the database answered the last readiness check, else 0.",
            registry=self.registry,
        )
        self.database_unavailable = Counter(
            "hangar_database_unavailable_total",
            "Requests that found the database unreachable (answered 503 or stale).",
            ["outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "hangar_rate_limited_total",
            "Requests refused with 429 by budget.",
            ["budget"],
            registry=self.registry,
        )
        self.esi_requests = Counter(
            "hangar_esi_requests_total",
            "Requests sent to ESI by route template and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.esi_error_budget = Gauge(
            "hangar_esi_error_budget_remaining",
            "ESI error budget left in the current window, as last reported.",
            registry=self.registry,
        )
        self.sweep_duration = Histogram(
            "hangar_ingest_sweep_duration_seconds",
            "Duration of region sweeps by outcome.",
            ["outcome"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
        self.contracts_ingested = Counter(
            "hangar_ingest_contracts_total",
            "Contracts written by ingestion.",
            registry=self.registry,
        )
        self.items_ingested = Counter(
            "hangar_ingest_items_total",
            "Contract items written by ingestion.",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "hangar_ingest_queue_depth",
            "Ingestion tasks waiting in the queue, as last observed.",
            registry=self.registry,
        )
