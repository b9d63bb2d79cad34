"""Test fixtures for both backends.

The backend is chosen by the environment, so the same suite runs twice in CI:

* embedded (default): a SQLite file in a temporary directory and the memory cache;
* real: ``HANGAR_TEST_DATABASE_URL=postgresql+asyncpg://…`` and
  ``HANGAR_TEST_CACHE_URL=redis://…``. A fresh database is created for the run,
  migrated by Alembic and dropped at the end. An unreachable server fails the run; it
  is never skipped.

Tables are emptied after each test that used the database, so tests can commit
freely (ingestion uses many sessions) and still start from nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from hangar_bay import migrate
from hangar_bay.app import create_app
from hangar_bay.core.cache import MemoryCache, RedisCache, ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.core.metrics import Metrics
from hangar_bay.models import Base
from hangar_bay.settings import Settings

TEST_DATABASE_URL = os.environ.get("HANGAR_TEST_DATABASE_URL", "")
TEST_CACHE_URL = os.environ.get("HANGAR_TEST_CACHE_URL", "")
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


def pytest_report_header() -> list[str]:
    return [
        f"hangar database: {TEST_DATABASE_URL or 'sqlite (temporary file)'}",
        f"hangar cache: {TEST_CACHE_URL or 'memory'}",
    ]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


async def _create_postgres_database(base_url: str) -> str:
    url = make_url(base_url)
    name = f"hangar_test_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(base_url: str, test_url: str) -> None:
    name = make_url(test_url).database
    admin = create_async_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if TEST_DATABASE_URL.startswith("postgresql"):
        url = await _create_postgres_database(TEST_DATABASE_URL)
        await migrate.upgrade(url)
        try:
            yield url
        finally:
            await _drop_postgres_database(TEST_DATABASE_URL, url)
    else:
        path = tmp_path_factory.mktemp("db") / "hangar-test.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
async def session_database(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url, pool_size=5)
    yield database
    await database.dispose()


async def truncate_all(database: Database) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with database.engine.begin() as conn:
        if database.is_sqlite:
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))
        else:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def database(session_database: Database) -> AsyncIterator[Database]:
    """The test database, emptied after the test."""
    yield session_database
    await truncate_all(session_database)


@pytest.fixture
async def cache() -> AsyncIterator[ResilientCache]:
    """The configured cache backend, under a prefix of its own, cleaned after the test."""
    if TEST_CACHE_URL:
        prefix = f"hbtest:{uuid.uuid4().hex[:8]}:"
        backend = RedisCache(TEST_CACHE_URL, prefix=prefix)
        resilient = ResilientCache(backend, Metrics())
        yield resilient
        keys = [key async for key in backend.client.scan_iter(match=f"{prefix}*")]
        if keys:
            await backend.client.delete(*keys)
        await backend.close()
    else:
        memory = ResilientCache(MemoryCache(), Metrics())
        yield memory
        await memory.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=database_url,
        cache_url=TEST_CACHE_URL,
        esi_base_url="http://127.0.0.1:9",  # nothing listens: tests point it at a simulator
        esi_user_agent="hangar-bay tests",
    )


@pytest.fixture
def app(settings: Settings, database: Database, cache: ResilientCache) -> FastAPI:
    return create_app(settings, database=database, cache=cache)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
