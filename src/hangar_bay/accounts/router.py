"""JSON API of the logged-in pilot: ``/api/v1/me`` and below.

Every route needs a session (401 ``{"error": "unauthorized"}`` otherwise); every unsafe
one also needs the session's CSRF token in ``X-CSRF-Token`` (403 ``{"error": "csrf"}``).
A pilot sees and touches only their own rows: another user's id is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter

from hangar_bay.accounts.deps import AuthDep
from hangar_bay.accounts.schemas import Me
from hangar_bay.core.errors import Unauthorized

router = APIRouter(prefix="/api/v1/me", tags=["me"])


@router.get("", response_model=Me, summary="The logged-in pilot and the CSRF token")
async def me(auth: AuthDep) -> Me:
    """``character_id``, ``character_name`` and the ``csrf_token`` unsafe requests carry."""
    if auth is None:
        raise Unauthorized("Log in with EVE Online first.")
    return Me(
        character_id=auth.user.character_id,
        character_name=auth.user.character_name,
        csrf_token=auth.csrf_token,
    )
