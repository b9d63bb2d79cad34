"""``GET /api/v1/types/{type_id}/price-history``: daily prices of a ship type (F011)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from hangar_bay.contracts.schemas import MAX_ID
from hangar_bay.core.errors import NotFound
from hangar_bay.core.openapi import EDGE_RESPONSES
from hangar_bay.core.state import SessionDep
from hangar_bay.market import reads

router = APIRouter(prefix="/api/v1", tags=["market"], responses=EDGE_RESPONSES)

MAX_DAYS = 365


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


@router.get(
    "/types/{type_id}/price-history",
    response_model=PriceHistory,
    summary="Daily contract prices of a ship type",
    description="For each UTC day of the last `days` days: how many single-hull item "
    "exchanges (one ship, nothing else, nothing asked) of this type were issued, and the "
    "minimum, quartiles and median of their prices in ISK. Days without any are left out. "
    "Kept after the contracts end. 404 when the type is unknown.",
    responses={404: {"description": "No such type has been seen."}},
)
async def price_history(
    type_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[24698])],
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="Days back, today included.")] = 90,
) -> PriceHistory:
    info = await reads.type_info(session, type_id)
    if info is None:
        raise NotFound(f"type {type_id}")
    rows = await reads.price_history(session, type_id, days)
    return PriceHistory(
        type_id=type_id,
        type_name=info["name"],
        days=[PriceDay.model_validate(r) for r in rows],
    )
