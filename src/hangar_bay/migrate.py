"""Running Alembic from the app: ``hangar-bay migrate`` and the embedded default's start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from hangar_bay.core.database import create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def _run(engine: AsyncEngine, operation: str, revision: str) -> None:
    def run(connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, operation)(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def upgrade(url: str, revision: str = "head") -> None:
    engine = create_engine(url)
    try:
        await _run(engine, "upgrade", revision)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        await _run(engine, "downgrade", revision)
    finally:
        await engine.dispose()
