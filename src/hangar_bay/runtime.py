"""What runs beside the web app in one process: in-process ingestion on the embedded
default, and the collector settings of a long-running server process."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hangar_bay.app import BackgroundHook
from hangar_bay.core.state import AppState
from hangar_bay.settings import Settings

# Collect the youngest generation after this many new container objects (CPython's
# default is 700): a cache miss allocates a few thousand, and at 700 a rendered page
# paid for several collections each (docs/benchmarks.md, "Garbage collection").
GC_YOUNG_THRESHOLD = 20_000


@asynccontextmanager
async def server_gc(_: AppState) -> AsyncIterator[None]:
    """Tune the cyclic garbage collector for a server process, once it has started.

    Everything made at start-up (modules, the app, its routes, the pools) lives as long
    as the process: ``gc.freeze`` moves it out of the collector's sight, so a full
    collection no longer walks it (measured: a full collection took ~80 ms of one
    request, a p95 spike, before; see docs/benchmarks.md). Undone when the app stops,
    so a process that makes many apps (the tests) keeps no garbage for good.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)
        gc.unfreeze()


def background_hooks(settings: Settings, *, ingest: bool) -> list[BackgroundHook]:
    """The hooks ``serve`` starts with the app (see ``create_app``'s ``background``)."""
    hooks: list[BackgroundHook] = []
    if ingest:
        # Ingestion and, beside it, alerts: matched after every round of sweeps.
        from hangar_bay.alerts.runner import embedded_hook

        hooks.append(embedded_hook)
    # Last: everything the hooks before it made at start-up is frozen with the app.
    hooks.append(server_gc)
    return hooks
