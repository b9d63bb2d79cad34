"""Entry points behind the ``ingest`` and ``worker`` console commands."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import typer

from hangar_bay.core.logging import get_logger
from hangar_bay.settings import Settings, SettingsError

log = get_logger(__name__)

T = TypeVar("T")


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (it comes with uvicorn[standard]): ingestion is
    hundreds of HTTP requests a second, and uvloop's loop costs less per I/O event."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def ingest_command(settings: Settings, *, once: bool, regions: Sequence[int]) -> int:
    try:
        settings.check_for_real_esi()
    except SettingsError as exc:
        typer.echo(f"hangar-bay: {exc}", err=True)
        return 2
    if settings.is_sqlite:
        from hangar_bay import migrate
        from hangar_bay.core.errors import is_database_unavailable

        try:
            # When the file cannot be opened, the error line below is all there is to say.
            with migrate.alembic_logs_held(discard_on=is_database_unavailable):
                asyncio.run(migrate.upgrade(settings.database_url))
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            typer.echo(
                f"hangar-bay: cannot open the database: {str(exc).splitlines()[0]}", err=True
            )
            return 1
    if not once:
        from hangar_bay.ingest.scheduler import run_forever

        run_async(run_forever(settings))
        return 0
    from hangar_bay.ingest.once import (
        EXIT_FAILED,
        DatabaseUnreachable,
        EsiUnavailable,
        UnknownRegions,
        run_once,
    )

    try:
        summary = run_async(run_once(settings, regions))
    except DatabaseUnreachable as exc:
        # One line naming the cause, not a traceback: an operator's terminal.
        typer.echo(f"hangar-bay: ingest stopped: {exc}", err=True)
        return 1
    except EsiUnavailable as exc:
        typer.echo(f"hangar-bay: ingest failed: {exc}", err=True)
        return EXIT_FAILED
    except UnknownRegions as exc:
        typer.echo(f"hangar-bay: --region: {exc}", err=True)
        return 2
    typer.echo(summary.line())
    return summary.exit_code


def worker_command(settings: Settings, *, scheduler: bool, concurrency: int) -> int:
    try:
        settings.check_for_real_esi()
    except SettingsError as exc:
        typer.echo(f"hangar-bay: {exc}", err=True)
        return 2
    if not settings.cache_url:
        typer.echo("hangar-bay: worker mode needs HANGAR_CACHE_URL=redis://… (the queue)", err=True)
        return 2
    from hangar_bay.ingest.worker import run_worker

    run_async(run_worker(settings, scheduler=scheduler, concurrency=concurrency))
    return 0
