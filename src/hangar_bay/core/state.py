"""The typed state the lifespan hands to every request, and the dependencies that read it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, TypedDict, cast

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.core.metrics import Metrics
from hangar_bay.settings import Settings


class AppState(TypedDict):
    settings: Settings
    database: Database
    cache: ResilientCache
    metrics: Metrics
    esi_http: httpx.AsyncClient


# The dependencies are coroutines, though they do no I/O: FastAPI runs a plain function
# dependency in a worker thread, and that hop cost more than the rest of a cached read.


def get_state(request: Request) -> AppState:
    # Starlette copies the mapping the lifespan yields into every request's scope.
    return cast(AppState, request.scope["state"])


async def get_settings_dep(request: Request) -> Settings:
    return get_state(request)["settings"]


async def get_database(request: Request) -> Database:
    return get_state(request)["database"]


async def get_cache(request: Request) -> ResilientCache:
    return get_state(request)["cache"]


async def get_metrics(request: Request) -> Metrics:
    return get_state(request)["metrics"]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed after the endpoint returns, else rolled back."""
    async with get_state(request)["database"].session() as session:
        yield session


# scope="function": the commit happens when the endpoint returns, before the response is
# sent. With the default the client could get its 2xx (and send its next request) before
# the write was committed, or at all: a failed commit would then be lost silently.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CacheDep = Annotated[ResilientCache, Depends(get_cache)]
DatabaseDep = Annotated[Database, Depends(get_database)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
