"""The browse JSON API: ``/api/v1/contracts``, ``/api/v1/contracts/{id}``, ``/api/v1/taxonomy``."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from hangar_bay.contracts import caching, listing, service
from hangar_bay.contracts.detail import detail_entry
from hangar_bay.contracts.http import (
    DETAIL_MAX_AGE,
    LIST_MAX_AGE,
    cached_response,
    etag_response,
)
from hangar_bay.contracts.schemas import (
    MAX_ID,
    ContractDetail,
    ContractFilters,
    ContractPage,
    ContractSummary,
    Taxonomy,
)
from hangar_bay.core import stale
from hangar_bay.core.database import Database
from hangar_bay.core.errors import NotFound
from hangar_bay.core.openapi import EDGE_RESPONSES
from hangar_bay.core.params import WholeNumber
from hangar_bay.core.state import CacheDep, DatabaseDep, get_state

router = APIRouter(prefix="/api/v1", tags=["contracts"], responses=EDGE_RESPONSES)

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


def _documented_parameters() -> list[dict[str, Any]]:
    """The OpenAPI parameters FastAPI derives from ``ContractFilters`` as a query model."""
    probe = FastAPI()

    @probe.get("/probe")
    async def _probe(filters: Annotated[ContractFilters, Query()]) -> None:
        return None

    parameters: list[dict[str, Any]] = probe.openapi()["paths"]["/probe"]["get"]["parameters"]
    return [_blank_means_any(parameter) for parameter in parameters]


# An empty value (what a GET form sends for a field left empty) means "any": said in
# the schema too, so the document and the behaviour agree (schemathesis checks).
_BLANK: dict[str, Any] = {"type": "string", "pattern": "^ *$"}


def _blank_means_any(parameter: dict[str, Any]) -> dict[str, Any]:
    schema = dict(parameter["schema"])
    if parameter["name"] == "q":
        return parameter  # any string is already valid
    kept = {key: schema.pop(key) for key in ("description", "title", "default") if key in schema}
    if schema.get("type") == "array":
        schema["items"] = {"anyOf": [schema["items"], _BLANK]}
        new_schema = {**schema, **kept}
    else:
        new_schema = {"anyOf": [schema, _BLANK], **kept}
    return {**parameter, "schema": new_schema}


def parse_filters(request: Request, ignored: frozenset[str] = frozenset()) -> ContractFilters:
    """The filters of the query string, validated as FastAPI validates a query model.

    Done by hand because FastAPI's generic query-model path costs ~1.5 ms a request,
    most of a cache hit; a bad value is the same 422 naming ``["query", <field>]``.
    Parameters named in ``ignored`` (those a route documents as ignored) are not read.
    """
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ignored]
    try:
        return ContractFilters.from_multi(pairs)
    except ValidationError as exc:
        errors = [{**err, "loc": ("query", *err["loc"])} for err in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


@router.get(
    "/contracts",
    response_model=ContractPage,
    responses=_ERRORS,
    # Parsed by parse_filters, documented as FastAPI would document the model.
    openapi_extra={"parameters": _documented_parameters()},
    summary="Search contracts",
    description="Live contracts matching the filters (ship contracts by default), one page "
    "of them, the total and the count per contract type. Plural parameters repeat: "
    "`?group_id=25&group_id=26`.",
)
async def list_contracts(request: Request) -> Response:
    # The state straight from the request, not as dependencies: on a cache hit FastAPI's
    # dependency solving was a large share of the whole request.
    state = get_state(request)
    database, cache = state["database"], state["cache"]
    filters = parse_filters(request)
    stale.answer_as(caching.list_cache_key(filters))
    # The database, not a session: a cache hit should not pay for setting one up.
    etag, body, _ = await caching.cached_list_entry(database, cache, filters)
    return etag_response(request, etag, body, media_type=JSON, max_age=LIST_MAX_AGE)


# --- CSV export (issue 12) --------------------------------------------------------------------

CSV_MAX_ROWS = 10_000
CSV_PAGE = 200
# The list JSON's fields; ships, blueprints and flags flattened into one cell each.
CSV_COLUMNS = list(ContractSummary.model_fields)


# A text cell starting with one of these is a formula to Excel and LibreOffice; titles
# and names are written by whoever issued the contract (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name == "ships":
        value = "; ".join(f"{s['name'] or s['type_id']} x{s['quantity']}" for s in value)
    elif name == "blueprints":
        value = "; ".join(
            f"{b['name'] or b['type_id']} "
            + (f"(copy, {b['runs']} runs)" if b["is_copy"] else "(original)")
            for b in value
        )
    elif name == "flags":
        value = " ".join(f["code"] for f in value)
    elif hasattr(value, "isoformat"):
        return value.isoformat()
    # Numbers stay numbers (a negative security status is not a formula).
    return _text_cell(value) if isinstance(value, str) else value


async def _csv_page(
    database: Database, filters: ContractFilters, page: int, counts: dict[str, int] | None
) -> dict[str, Any]:
    view = filters.model_copy(update={"page": page, "size": CSV_PAGE})
    async with database.read() as session:
        return await listing.list_page(session, view, counts=counts)


async def _csv_rows(
    database: Database, filters: ContractFilters, first: dict[str, Any]
) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    sent = 0
    page = 1
    result = first
    while sent < CSV_MAX_ROWS:
        if page > 1:
            result = await _csv_page(database, filters, page, result["counts"])
        rows = result["items"][: CSV_MAX_ROWS - sent]
        for row in rows:
            writer.writerow([_csv_cell(name, row.get(name)) for name in CSV_COLUMNS])
        sent += len(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if page >= result["pages"]:
            break
        page += 1


@router.get(
    "/contracts.csv",
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per contract."},
        **_ERRORS,
    },
    openapi_extra={"parameters": _documented_parameters()},
    summary="Export contracts as CSV",
    description=f"Every contract matching the browse parameters, in their sort order, up to "
    f"{CSV_MAX_ROWS:,} rows (`page` and `size` are ignored), streamed. Columns: the list "
    "JSON's fields; `ships` and `blueprints` as `name xN; …`, `flags` as space-separated "
    "codes. Timestamps ISO 8601 UTC, amounts in ISK.",
)
async def export_contracts(request: Request, database: DatabaseDep) -> StreamingResponse:
    filters = parse_filters(request)
    # The first page is read before the status line goes out: with the database down
    # the answer is then a 503 (an export keeps no copy), not a 200 cut short.
    first = await _csv_page(database, filters, 1, None)
    return StreamingResponse(
        _csv_rows(database, filters, first),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contracts.csv"'},
    )


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
    contract_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[190000001]), WholeNumber],
    database: DatabaseDep,
    cache: CacheDep,
) -> Response:
    # Cached per generation (one cache read on a hit, no session); while the database
    # is unreachable the middleware answers with the last good copy, marked stale.
    entry = await detail_entry(database, cache, contract_id)
    if entry is None:
        raise NotFound(f"contract {contract_id}")
    etag, body = entry
    return etag_response(request, etag, body, media_type=JSON, max_age=DETAIL_MAX_AGE)


@router.get(
    "/taxonomy",
    response_model=Taxonomy,
    summary="Ship groups and types on offer",
    description="Every ship group (class) and type that at least one live contract offers.",
)
async def get_taxonomy(request: Request, database: DatabaseDep, cache: CacheDep) -> Response:
    async def build() -> Taxonomy:
        async with database.session() as session:
            return await service.taxonomy(session)

    result = await caching.cached_model(cache, caching.TAXONOMY_KEY, Taxonomy, build)
    body = result.model_dump_json().encode()
    return cached_response(request, body, media_type=JSON, max_age=LIST_MAX_AGE)
