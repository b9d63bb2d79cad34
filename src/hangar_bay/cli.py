"""The ``hangar-bay`` console command."""

from __future__ import annotations

import asyncio
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
    import uvicorn

    from hangar_bay import migrate as migrations
    from hangar_bay.app import create_app
    from hangar_bay.runtime import background_hooks

    settings = load_settings()
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
    app = create_app(settings, background=background_hooks(settings, ingest=run_ingest))
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )


@cli.command("esi-sim")
def esi_sim(
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8088,
    scale: Annotated[str, typer.Option(help="tiny, forge or universe")] = "tiny",
    seed: Annotated[int, typer.Option(help="Universe seed")] = 1,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second")] = 1.0,
) -> None:
    """Run the ESI and EVE SSO simulator (for tests, demos and benchmarks)."""
    # Imported here only: the application itself never depends on the simulator.
    from esi_sim.cli import run

    configure_logging(level="INFO")
    run(host=host, port=port, scale=scale, seed=seed, speed=speed)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
