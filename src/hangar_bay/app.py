"""The application factory.

``create_app`` builds a FastAPI app for the given settings. The lifespan opens the
database engine, the cache client and the shared ESI HTTP client, hands them to
requests as typed state (:class:`hangar_bay.core.state.AppState`) and closes them on
shutdown. Background work that belongs to the process (in-process ingestion on the
embedded default) is started by hooks registered in ``background``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hangar_bay import __version__
from hangar_bay.accounts.auth import router as auth_router
from hangar_bay.accounts.pages import router as accounts_pages
from hangar_bay.accounts.router import router as accounts_router
from hangar_bay.alerts.feeds import router as feeds_router
from hangar_bay.alerts.metrics import alert_metrics
from hangar_bay.alerts.router import pages as alerts_pages
from hangar_bay.alerts.router import router as alerts_router
from hangar_bay.contracts.router import router as contracts_router
from hangar_bay.core.cache import ResilientCache, create_cache
from hangar_bay.core.database import Database
from hangar_bay.core.errors import install_error_handlers
from hangar_bay.core.logging import get_logger
from hangar_bay.core.metrics import Metrics
from hangar_bay.core.middleware import RequestContextMiddleware
from hangar_bay.core.ratelimit import RateLimiter
from hangar_bay.core.state import AppState
from hangar_bay.ingest.router import router as ingest_router
from hangar_bay.market.router import router as market_router
from hangar_bay.ops.docs import install_docs
from hangar_bay.ops.router import router as ops_router
from hangar_bay.settings import Settings
from hangar_bay.web.error_pages import render_error_page, with_pilot
from hangar_bay.web.router import STATIC_DIR
from hangar_bay.web.router import router as web_router

log = get_logger(__name__)

# A background hook runs for the app's lifetime: given the state, it returns an async
# context manager entered at start-up and exited at shutdown.
BackgroundHook = Callable[[AppState], AbstractAsyncContextManager[object]]


def build_esi_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.esi_base_url,
        timeout=httpx.Timeout(settings.esi_timeout_seconds, connect=5.0),
        limits=httpx.Limits(
            max_connections=settings.esi_max_concurrency * 2,
            max_keepalive_connections=settings.esi_max_concurrency,
        ),
        headers={
            "User-Agent": settings.user_agent,
            "X-Compatibility-Date": settings.esi_compatibility_date,
            "Accept": "application/json",
        },
    )


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    cache: ResilientCache | None = None,
    background: Sequence[BackgroundHook] = (),
) -> FastAPI:
    """Build the app. Tests pass their own ``database``/``cache``; the app then leaves
    closing them to the test."""
    metrics = Metrics()
    # The limiter's shared buckets live in the cache, which the lifespan opens.
    limiter = RateLimiter(settings, None, metrics)
    # Registered up front so /metrics lists them (at zero) before the first match.
    alert_metrics(metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[AppState]:
        async with AsyncExitStack() as stack:
            db = database
            if db is None:
                db = Database.from_url(
                    settings.database_url,
                    echo=settings.database_echo,
                    pool_size=settings.database_pool_size,
                )
                stack.push_async_callback(db.dispose)
            cache_client = cache
            if cache_client is None:
                cache_client = create_cache(
                    settings.cache_url, prefix=settings.cache_prefix, metrics=metrics
                )
                stack.push_async_callback(cache_client.close)
            limiter.cache = cache_client
            esi_http = build_esi_client(settings)
            stack.push_async_callback(esi_http.aclose)
            state = AppState(
                settings=settings,
                database=db,
                cache=cache_client,
                metrics=metrics,
                esi_http=esi_http,
            )
            for hook in background:
                await stack.enter_async_context(hook(state))
            log.info(
                "app_started",
                version=__version__,
                environment=settings.environment.value,
                database=db.engine.dialect.name,
                cache="redis" if settings.cache_url else "memory",
            )
            yield state
            log.info("app_stopping")

    app = FastAPI(
        title="Hangar Bay",
        version=__version__,
        summary="Find ships for sale on EVE Online public contracts.",
        lifespan=lifespan,
        # Metrics and logs are our own (/metrics, structlog). FastAPI's built-in
        # OpenTelemetry finds no provider configured, but would still look for one on
        # every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Served from packaged assets by ops.docs (no CDN, no inline script), or off.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_on else None,
    )
    app.state.metrics = metrics
    install_error_handlers(app, html=render_error_page)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        settings=settings,
        limiter=limiter,
        pilot_page=with_pilot,
    )
    # Routes are matched in order: the two busiest views (the browse page and the list
    # API) first, so their requests do not try every other router's paths on the way.
    # No paths overlap, so the order decides nothing else.
    app.include_router(web_router)
    app.include_router(contracts_router)
    app.include_router(ops_router)
    app.include_router(ingest_router)
    app.include_router(auth_router)
    app.include_router(accounts_router)
    app.include_router(alerts_router)
    app.include_router(alerts_pages)
    app.include_router(feeds_router)
    app.include_router(market_router)
    app.include_router(accounts_pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_docs(app, enabled=settings.docs_on)
    return app
