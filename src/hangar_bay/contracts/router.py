"""The browse JSON API: ``/api/v1/contracts``, ``/api/v1/contracts/{id}``, ``/api/v1/taxonomy``."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response

from hangar_bay.contracts import service
from hangar_bay.contracts.http import DETAIL_MAX_AGE, LIST_MAX_AGE, cached_response
from hangar_bay.contracts.schemas import (
    MAX_ID,
    ContractDetail,
    ContractFilters,
    ContractPage,
    Taxonomy,
)
from hangar_bay.core.errors import NotFound
from hangar_bay.core.state import CacheDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["contracts"])

JSON = "application/json"
_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "A parameter is invalid; `detail` names it.",
        "content": {
            JSON: {
                "example": {
                    "error": "validation_error",
                    "detail": [
                        {
                            "loc": ["query", "size"],
                            "msg": "Input should be less than or equal to 200",
                            "type": "less_than_equal",
                        }
                    ],
                }
            }
        },
    }
}


@router.get(
    "/contracts",
    response_model=ContractPage,
    responses=_ERRORS,
    summary="Search contracts",
    description="Live contracts matching the filters (ship contracts by default), one page "
    "of them, the total and the count per contract type. Plural parameters repeat: "
    "`?group_id=25&group_id=26`.",
)
async def list_contracts(
    request: Request,
    filters: Annotated[ContractFilters, Query()],
    session: SessionDep,
    cache: CacheDep,
) -> Response:
    body, _ = await service.cached_list(session, cache, filters)
    return cached_response(request, body, media_type=JSON, max_age=LIST_MAX_AGE)


@router.get(
    "/contracts/{contract_id}",
    response_model=ContractDetail,
    responses={
        404: {
            "description": "No such contract has ever been seen.",
            "content": {JSON: {"example": {"error": "not_found", "detail": "contract 1"}}},
        },
        **_ERRORS,
    },
    summary="One contract with its items",
    description="The contract's terms, location, and every item, offered (`is_included`) "
    "and requested. A contract that has ended stays available with `status` `ended`.",
)
async def get_contract(
    request: Request,
    contract_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[190000001])],
    session: SessionDep,
    cache: CacheDep,
) -> Response:
    gen = await service.generation(cache)
    key = f"browse:detail:v1:{gen}:{contract_id}"
    body = await cache.get(key)
    if body is None:
        detail = await service.get_contract(session, contract_id)
        if detail is None:
            raise NotFound(f"contract {contract_id}")
        # orjson, like the list, so both endpoints write timestamps the same way.
        body = orjson.dumps(detail.model_dump())
        await cache.set(key, body, ttl=service.LIST_TTL)
    return cached_response(request, body, media_type=JSON, max_age=DETAIL_MAX_AGE)


@router.get(
    "/taxonomy",
    response_model=Taxonomy,
    summary="Ship groups and types on offer",
    description="Every ship group (class) and type that at least one live contract offers.",
)
async def get_taxonomy(request: Request, session: SessionDep, cache: CacheDep) -> Response:
    result = await service.cached_model(
        cache,
        service.TAXONOMY_KEY,
        Taxonomy,
        lambda: service.taxonomy(session),
    )
    body = result.model_dump_json().encode()
    return cached_response(request, body, media_type=JSON, max_age=LIST_MAX_AGE)
