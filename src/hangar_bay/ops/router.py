"""``/health`` (the process serves), ``/ready`` (its dependencies answer), ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hangar_bay.core.state import CacheDep, DatabaseDep, MetricsDep, SettingsDep
from hangar_bay.ops.freshness import freshness_report

router = APIRouter(tags=["operations"])


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
    summary="Readiness: database and cache reachable; data freshness reported",
    responses={503: {"description": "A dependency did not answer; the body names it"}},
)
async def ready(settings: SettingsDep, database: DatabaseDep, cache: CacheDep) -> JSONResponse:
    timeout = settings.ready_timeout_seconds
    db_error, cache_error = await asyncio.gather(
        _check(database.ping, timeout), _check(cache.ping, timeout)
    )
    checks: dict[str, Any] = {
        "database": {"ok": db_error is None, **({"error": db_error} if db_error else {})},
        "cache": {"ok": cache_error is None, **({"error": cache_error} if cache_error else {})},
    }
    failed = [name for name, check in checks.items() if not check["ok"]]
    body: dict[str, Any] = {"status": "unavailable" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    else:
        # Stale data is worth knowing about but is not a reason to stop serving.
        body["freshness"] = await _check_freshness(database, timeout)
    return JSONResponse(body, status_code=503 if failed else 200)


async def _check_freshness(database: DatabaseDep, limit: float) -> Any:
    try:
        async with asyncio.timeout(limit):
            return await freshness_report(database)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
