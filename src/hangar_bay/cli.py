"""The ``hangar-bay`` console command."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from typing import Annotated

import typer

from hangar_bay import __version__
from hangar_bay.core.logging import configure_logging, get_logger
from hangar_bay.settings import Settings, SettingsError, get_settings

cli = typer.Typer(
    name="hangar-bay",
    help="Hangar Bay: find ships for sale on EVE Online public contracts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = get_logger("hangar_bay.cli")


def load_settings(**overrides: object) -> Settings:
    """Settings or a one-line refusal: operators get a sentence, not a traceback."""
    try:
        settings = get_settings(**overrides)
    except SettingsError as exc:
        typer.echo(f"hangar-bay: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(level=settings.log_level, json=settings.json_logs)
    return settings


def _local_url(host: str | None, port: int) -> str:
    """This server's own address, for absolute links when ``HANGAR_PUBLIC_URL`` is unset."""
    shown = "127.0.0.1" if host in (None, "", "0.0.0.0", "::") else host  # noqa: S104
    return f"http://{shown}:{port}"


@cli.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION")] = False,
) -> None:
    """Bring the database schema to REVISION (default: the newest)."""
    from hangar_bay import migrate as migrations

    settings = load_settings()
    operation = migrations.downgrade if down else migrations.upgrade
    asyncio.run(operation(settings.database_url, revision))
    log.info("migrated", revision=revision, direction="down" if down else "up")


def _run_server(settings: Settings, *, host: str | None, port: int | None, ingest: bool) -> None:
    import uvicorn

    from hangar_bay.app import create_app
    from hangar_bay.core.server import protocol_for
    from hangar_bay.runtime import background_hooks

    app = create_app(settings, background=background_hooks(settings, ingest=ingest))
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        http=protocol_for(settings.max_url_length),
        # X-Forwarded-For/-Proto are believed from HANGAR_TRUSTED_PROXIES only.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        server_header=False,
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only)")] = 1,
    ingest: Annotated[
        bool | None,
        typer.Option("--ingest/--no-ingest", help="Run ingestion in this process"),
    ] = None,
) -> None:
    """Serve the API and web UI. On the embedded default it also migrates and ingests."""
    from hangar_bay import migrate as migrations

    settings = load_settings()
    if "public_url" not in settings.model_fields_set and (host or port):
        # Feeds and alerts link to where this server answers unless told otherwise.
        settings = load_settings(
            public_url=_local_url(host or settings.host, port or settings.port)
        )
    if settings.is_sqlite:
        # The embedded default has no separate migrate step: the database is ours.
        asyncio.run(migrations.upgrade(settings.database_url))
    elif workers > 1 and (ingest or (ingest is None and settings.ingest_in_process)):
        typer.echo("hangar-bay: use --no-ingest with several workers; run `hangar-bay worker`")
        raise typer.Exit(2)
    run_ingest = settings.ingest_in_process if ingest is None else ingest
    if run_ingest:
        try:
            settings.check_for_real_esi()
        except SettingsError as exc:
            # Serving what is already stored is still useful; ESI just is not polled.
            log.warning("ingestion_disabled", reason=str(exc))
            run_ingest = False
    _run_server(settings, host=host, port=port, ingest=run_ingest)


@cli.command()
def ingest(
    once: Annotated[bool, typer.Option("--once", help="One complete pass, then exit")] = False,
    region: Annotated[
        list[int] | None, typer.Option("--region", help="Region id (repeatable; default: all)")
    ] = None,
) -> None:
    """Ingest public contracts from ESI. Exit 0 only if every requested region completed."""
    from hangar_bay.ingest.commands import ingest_command

    raise typer.Exit(ingest_command(load_settings(), once=once, regions=region or []))


@cli.command()
def worker(
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="Also compete for the scheduler")
    ] = True,
    concurrency: Annotated[int, typer.Option(help="Tasks run at once by this worker")] = 4,
) -> None:
    """Distributed ingestion: consume sweep tasks from the Valkey/Redis queue."""
    from hangar_bay.ingest.commands import worker_command

    raise typer.Exit(worker_command(load_settings(), scheduler=scheduler, concurrency=concurrency))


@cli.command(
    "esi-sim",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def esi_sim(ctx: typer.Context) -> None:
    """Run the ESI and EVE SSO simulator: --port 8088 --scale tiny|forge|universe --seed N
    (--help lists faults and --dump-ground-truth)."""
    # Imported here only: the application itself never depends on the simulator, and the
    # simulator owns its options, so they are defined once.
    from esi_sim.cli import main as sim_main

    raise typer.Exit(sim_main(list(ctx.args)))


@cli.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for the app")] = 8000,
    scale: Annotated[
        str, typer.Option(help="Simulated universe: tiny, forge or universe")
    ] = "tiny",
    seed: Annotated[int, typer.Option(help="Universe seed")] = 1,
    database: Annotated[str, typer.Option(help="SQLite file for the demo")] = "hangar-bay-demo.db",
) -> None:
    """Start the ESI simulator and the app together, ingest, and print the URL."""
    from pathlib import Path

    from esi_sim.config import SimConfig
    from esi_sim.testing import running_simulator
    from hangar_bay import migrate as migrations
    from hangar_bay.ingest.once import run_once

    # A fresh file each time: the demo shows the simulator's universe, nothing older.
    for suffix in ("", "-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)
    configure_logging(level="INFO")
    # The simulated clock starts now, so ESI's Expires and Date headers match this machine's.
    sim_config = SimConfig.model_validate(
        {"scale": scale, "seed": seed, "start_time": dt.datetime.now(dt.UTC)}
    )
    with running_simulator(sim_config) as sim:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            cache_url="",
            esi_base_url=sim.base_url,
            sso_base_url=sim.base_url,
            # "Log in with EVE Online" works in the demo: the simulator's test client.
            sso_client_id=sim_config.sso.client_id,
            sso_client_secret=sim_config.sso.client_secret,
            sso_callback_url=f"http://127.0.0.1:{port}/auth/callback",
            esi_user_agent="hangar-bay demo",
            port=port,
            **({} if "HANGAR_PUBLIC_URL" in os.environ else {"public_url": _local_url(None, port)}),
        )
        asyncio.run(migrations.upgrade(settings.database_url))
        summary = asyncio.run(run_once(settings, show_progress=False))
        typer.echo(summary.line())
        typer.echo(f"\n  Hangar Bay demo: http://{settings.host}:{port}/")
        # For trying ESI's faults (POST /_sim/faults) and the ground truth against it.
        typer.echo(f"  ESI/SSO simulator: {sim.base_url}\n")
        _run_server(settings, host=None, port=port, ingest=True)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
