"""``/health`` (the process serves), ``/ready`` (it can do its job), ``/metrics``.

Readiness fails only for what makes the process useless: the database. A cache that is
down (or skipped by its circuit breaker) is reported in the body and in metrics, but
pages still serve without it, so a load balancer must not take the process out.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hangar_bay.core.errors import Forbidden
from hangar_bay.core.openapi import EDGE_RESPONSES
from hangar_bay.core.ratelimit import Network, client_address, parse_networks
from hangar_bay.core.state import CacheDep, DatabaseDep, MetricsDep, SettingsDep
from hangar_bay.ops.freshness import freshness_report
from hangar_bay.settings import Settings

router = APIRouter(tags=["operations"], responses=EDGE_RESPONSES)


@router.get("/health", summary="Liveness: 200 while the process serves")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check(probe: Callable[[], Awaitable[None]], limit: float) -> str | None:
    """None when the probe answered in time, otherwise why it did not."""
    try:
        await asyncio.wait_for(probe(), limit)
    except TimeoutError:
        return f"no answer within {limit:g}s"
    except Exception as exc:  # any failure of a dependency means "not ready"
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


@router.get(
    "/ready",
    summary="Readiness: the database answers; cache health and data freshness reported",
    responses={
        503: {"description": "The database did not answer; the body names it"},
    },
)
async def ready(
    settings: SettingsDep, database: DatabaseDep, cache: CacheDep, metrics: MetricsDep
) -> JSONResponse:
    """200 ``{"status": "ok"|"degraded", "checks": {...}, "freshness": ...}`` while the
    database answers ("degraded": the cache is down or skipped); 503 with ``failed``
    naming ``database`` otherwise. ``degraded`` lists only what is down but not
    ``failed`` (in practice the cache), never both for one dependency."""
    timeout = settings.ready_timeout_seconds
    db_error, cache_error = await asyncio.gather(
        _check(database.ping, timeout), _check(cache.ping, timeout)
    )
    metrics.database_up.set(0 if db_error else 1)
    metrics.cache_up.set(0 if cache_error else 1)
    cache_check: dict[str, Any] = {"ok": cache_error is None, "circuit_open": cache.degraded}
    if cache_error:
        cache_check["error"] = cache_error
    checks: dict[str, Any] = {
        "database": {"ok": db_error is None, **({"error": db_error} if db_error else {})},
        "cache": cache_check,
    }
    # Only the database makes the process useless; the cache is optional for reads.
    failed = ["database"] if db_error else []
    # A failed dependency is not also "degraded": that word means serving on without it.
    degraded = [name for name, check in checks.items() if not check["ok"] and name not in failed]
    if cache.degraded and "cache" not in degraded:
        degraded.append("cache")
    status = "unavailable" if failed else ("degraded" if degraded else "ok")
    body: dict[str, Any] = {"status": status, "checks": checks}
    if failed:
        body["failed"] = failed
    if degraded:
        body["degraded"] = degraded
    if not failed:
        # Stale data is worth knowing about but is not a reason to stop serving.
        body["freshness"] = await _check_freshness(database, timeout)
    return JSONResponse(body, status_code=503 if failed else 200)


async def _check_freshness(database: DatabaseDep, limit: float) -> Any:
    try:
        async with asyncio.timeout(limit):
            return await freshness_report(database)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}"}


def _metrics_allowed(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token.get_secret_value()
    if token:
        # The scheme is case-insensitive (RFC 9110 11.1); the token is compared in
        # constant time.
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
    allowed = _networks(tuple(settings.metrics_allowed_networks))
    if not allowed:
        return False
    address = client_address(request.scope, _networks(tuple(settings.trusted_proxies)))
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in allowed)


@lru_cache(maxsize=32)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(list(values))


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={403: {"description": "Not from an allowed network and no valid bearer token"}},
)
async def metrics(request: Request, metrics: MetricsDep, settings: SettingsDep) -> Response:
    """The Prometheus text format, for clients in ``HANGAR_METRICS_ALLOWED_NETWORKS`` or
    sending ``Authorization: Bearer <HANGAR_METRICS_TOKEN>``; 403 for anyone else."""
    if not _metrics_allowed(request, settings):
        raise Forbidden("metrics are available to allowed networks or with the bearer token")
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
