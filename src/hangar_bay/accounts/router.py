"""JSON API of the logged-in pilot: ``/api/v1/me`` and below.

Every route needs a session (401 ``{"error": "unauthorized"}`` otherwise); every unsafe
one also needs the session's CSRF token in ``X-CSRF-Token`` (403 ``{"error": "csrf"}``,
nothing changes). A pilot sees and touches only their own rows: another user's id is a
404. Bodies that parse but cannot be accepted (unknown ship type, bad browse parameter,
a limit reached) are 422 in FastAPI's validation-error shape.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from hangar_bay.accounts import searches, watchlist
from hangar_bay.accounts.deps import AuthDep, CurrentUser, require_csrf
from hangar_bay.accounts.schemas import (
    Me,
    SearchIn,
    SearchList,
    SearchOut,
    SearchPatch,
    WatchIn,
    WatchList,
    WatchOut,
    WatchPatch,
)
from hangar_bay.contracts.schemas import MAX_ID
from hangar_bay.core.bodies import BodyRoute
from hangar_bay.core.errors import NotFound, Unauthorized
from hangar_bay.core.openapi import ME_RESPONSES
from hangar_bay.core.params import WholeNumber
from hangar_bay.core.state import CacheDep, SessionDep

router = APIRouter(prefix="/api/v1/me", tags=["me"], responses=ME_RESPONSES, route_class=BodyRoute)
unsafe = [Depends(require_csrf)]
RowId = Annotated[int, Path(ge=1, le=MAX_ID), WholeNumber]
_PRIVATE = {"Cache-Control": "private, no-store"}


@router.get("", response_model=Me, summary="The logged-in pilot and the CSRF token")
async def me(auth: AuthDep, response: Response) -> Me:
    """``character_id``, ``character_name`` and the ``csrf_token`` unsafe requests carry."""
    if auth is None:
        raise Unauthorized("Log in with EVE Online first.")
    response.headers.update(_PRIVATE)
    return Me(
        character_id=auth.user.character_id,
        character_name=auth.user.character_name,
        csrf_token=auth.csrf_token,
    )


# --- saved searches -------------------------------------------------------------------


@router.get("/searches", response_model=SearchList, summary="My saved searches")
async def list_searches(
    user: CurrentUser, session: SessionDep, cache: CacheDep, response: Response
) -> SearchList:
    """Oldest first, each with ``total``: how many live contracts match now."""
    response.headers.update(_PRIVATE)
    return SearchList(items=await searches.list_searches(session, cache, user.id))


@router.post(
    "/searches",
    response_model=SearchOut,
    status_code=201,
    dependencies=unsafe,
    summary="Save a search",
)
async def create_search(
    body: SearchIn, user: CurrentUser, session: SessionDep, cache: CacheDep
) -> SearchOut:
    """``query`` is a browse query string, validated and normalised like the browse
    page's (422 naming a bad parameter); at most 100 searches, names of 1-80 chars."""
    row = await searches.create_search(session, user.id, body)
    return await searches.one(session, cache, row)


@router.patch(
    "/searches/{search_id}", response_model=SearchOut, dependencies=unsafe, summary="Change one"
)
async def update_search(
    search_id: RowId, body: SearchPatch, user: CurrentUser, session: SessionDep, cache: CacheDep
) -> SearchOut:
    """Rename, change the query or switch alerts; 404 unless it is yours."""
    row = await searches.get_search(session, user.id, search_id)
    if row is None:
        raise NotFound("No such saved search.")
    await searches.update_search(session, row, body)
    return await searches.one(session, cache, row)


@router.delete("/searches/{search_id}", status_code=204, dependencies=unsafe, summary="Delete one")
async def delete_search(search_id: RowId, user: CurrentUser, session: SessionDep) -> Response:
    row = await searches.get_search(session, user.id, search_id)
    if row is None:
        raise NotFound("No such saved search.")
    await searches.delete_search(session, row)
    return Response(status_code=204)


# --- watchlist ------------------------------------------------------------------------


@router.get("/watchlist", response_model=WatchList, summary="My watchlist")
async def list_watch(
    user: CurrentUser, session: SessionDep, cache: CacheDep, response: Response
) -> WatchList:
    """Oldest first, each with ``matches``: live contracts offering the type at or under
    ``max_price`` (ISK), in ``region_id`` when set."""
    response.headers.update(_PRIVATE)
    return WatchList(items=await watchlist.list_entries(session, cache, user.id))


@router.post(
    "/watchlist",
    response_model=WatchOut,
    status_code=201,
    dependencies=unsafe,
    summary="Watch a ship type",
)
async def create_watch(
    body: WatchIn, user: CurrentUser, session: SessionDep, cache: CacheDep
) -> WatchOut:
    """``type_id`` must be a known ship type and ``region_id`` a known region (422);
    at most 500 entries, notes up to 500 chars."""
    row = await watchlist.create_entry(session, user.id, body)
    return await watchlist.one(session, cache, row)


@router.patch(
    "/watchlist/{entry_id}", response_model=WatchOut, dependencies=unsafe, summary="Change one"
)
async def update_watch(
    entry_id: RowId, body: WatchPatch, user: CurrentUser, session: SessionDep, cache: CacheDep
) -> WatchOut:
    """Change the fields given; ``null`` clears ``max_price``, ``note`` or ``region_id``."""
    row = await watchlist.get_entry(session, user.id, entry_id)
    if row is None:
        raise NotFound("No such watch entry.")
    await watchlist.update_entry(session, row, body)
    return await watchlist.one(session, cache, row)


@router.delete("/watchlist/{entry_id}", status_code=204, dependencies=unsafe, summary="Delete one")
async def delete_watch(entry_id: RowId, user: CurrentUser, session: SessionDep) -> Response:
    row = await watchlist.get_entry(session, user.id, entry_id)
    if row is None:
        raise NotFound("No such watch entry.")
    await watchlist.delete_entry(session, row)
    return Response(status_code=204)
