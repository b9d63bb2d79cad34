"""``GET /api/v1/types/{type_id}/price-history``: daily prices of a ship type (F011)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from hangar_bay.contracts import caching
from hangar_bay.contracts.http import DETAIL_MAX_AGE, etag_for, etag_response
from hangar_bay.contracts.schemas import MAX_ID
from hangar_bay.core import stale
from hangar_bay.core.errors import NotFound
from hangar_bay.core.openapi import EDGE_RESPONSES
from hangar_bay.core.params import OneValueEach, WholeNumber
from hangar_bay.core.state import CacheDep, DatabaseDep
from hangar_bay.market import reads

router = APIRouter(prefix="/api/v1", tags=["market"], responses=EDGE_RESPONSES)

MAX_DAYS = 365
DEFAULT_DAYS = 90


class PriceDay(BaseModel):
    date: dt.date = Field(description="UTC day the contracts were issued.")
    count: int = Field(description="Single-hull item exchanges issued that day.")
    min: float = Field(description="ISK.")
    p25: float
    median: float
    p75: float


class PriceHistory(BaseModel):
    type_id: int
    type_name: str
    days: list[PriceDay]


def history_cache_key(type_id: int, days: int) -> str:
    return f"market:price-history:v1:{type_id}:{days}"


@router.get(
    "/types/{type_id}/price-history",
    response_model=PriceHistory,
    summary="Daily contract prices of a ship type",
    description="For each UTC day of the last `days` days: how many single-hull item "
    "exchanges (one ship, nothing else, nothing asked) of this type were issued, and the "
    "minimum, quartiles and median of their prices in ISK. Days without any are left out. "
    "Kept after the contracts end. 404 when the type is unknown; 422 when `days` is out "
    "of range or given more than once.",
    responses={404: {"description": "No such type has been seen."}},
)
async def price_history(
    request: Request,
    type_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[24698]), WholeNumber],
    database: DatabaseDep,
    cache: CacheDep,
    _one_value: OneValueEach,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="Days back, today included.")
    ] = DEFAULT_DAYS,
) -> Response:
    # Cached per generation (the market pass bumps it when it records new days), so a
    # hit opens no session; while the database is unreachable the middleware answers
    # with the last good copy, marked stale.
    key = history_cache_key(type_id, days)
    stale.answer_as(key)
    gen, entry = await caching.read_entry(cache, key)
    if entry is None:
        async with database.session() as session:
            info = await reads.type_info(session, type_id)
            if info is None:
                # Not cached: the type may arrive with the next sweep.
                raise NotFound(f"type {type_id}")
            rows = await reads.price_history(session, type_id, days)
        body = (
            PriceHistory(
                type_id=type_id,
                type_name=info["name"],
                days=[PriceDay.model_validate(r) for r in rows],
            )
            .model_dump_json()
            .encode()
        )
        entry = (etag_for(body), body)
        await caching.write_entry(cache, key, gen, *entry, ttl=DETAIL_MAX_AGE)
    return etag_response(request, *entry, media_type="application/json", max_age=DETAIL_MAX_AGE)
