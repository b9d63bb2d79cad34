"""Users: one row per (character, owner hash).

EVE changes a character's owner hash when it is sold. The buyer's first login therefore
creates a new ``users`` row (starting with no saved searches or watch entries) and ends
every session of the previous owner; the seller's rows stay with the old row, out of the
buyer's reach. Saved searches and watch entries are in :mod:`.searches` and
:mod:`.watchlist`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hangar_bay.accounts.sessions import end_previous_owner_sessions
from hangar_bay.core.logging import get_logger
from hangar_bay.models import User, utcnow

log = get_logger(__name__)


async def _find(session: AsyncSession, character_id: int, owner_hash: str) -> User | None:
    return await session.scalar(
        select(User).where(User.character_id == character_id, User.owner_hash == owner_hash)
    )


async def upsert_user(
    session: AsyncSession, *, character_id: int, character_name: str, owner_hash: str
) -> User:
    """The user for this character and owner (created on first login), with its name
    and ``last_login_at`` brought up to date. Sessions of earlier owners of the same
    character end here. Only flushes."""
    now = utcnow()
    user = await _find(session, character_id, owner_hash)
    if user is None:
        user = User(
            character_id=character_id,
            character_name=character_name,
            owner_hash=owner_hash,
            last_login_at=now,
        )
        try:
            # Two first logins at once: the loser of the race reads the winner's row.
            async with session.begin_nested():
                session.add(user)
        except IntegrityError:
            found = await _find(session, character_id, owner_hash)
            if found is None:
                raise
            user = found
        else:
            previous = await session.scalar(
                select(User.id).where(User.character_id == character_id, User.id != user.id)
            )
            if previous is not None:
                log.info("character_owner_changed", character_id=character_id)
    user.character_name = character_name
    user.last_login_at = now
    await session.flush()
    await end_previous_owner_sessions(session, user)
    return user
