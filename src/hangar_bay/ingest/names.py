"""Entity names from ``POST /universe/names/`` and the re-checks of ids it refused.

ESI fails a whole names call with 404 when it does not know one id (a character created
minutes ago, or a deleted one), so a refused batch is bisected until those ids are
isolated; each is remembered in ``name_checks`` (the database, so restarts and workers
share it) and asked again from a growing delay on (the re-check rule).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import delete, select

from hangar_bay.core.database import Database
from hangar_bay.core.logging import get_logger
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.errors import PermanentEsiError, TransientEsiError
from hangar_bay.ingest.recheck import recheck_delay
from hangar_bay.ingest.schemas import NameRow, parse_rows
from hangar_bay.ingest.writes import Writer, chunks, upsert
from hangar_bay.models import EntityName, NameCheck, Region, as_utc

log = get_logger(__name__)

NAMES_BATCH = 1000


class Incomplete(Exception):
    """Some static data (names, types, locations) could not be fetched now (transient);
    the sweep is not complete."""


class NamesPart:
    database: Database
    writer: Writer
    esi: EsiClient
    recheck_seconds: float
    recheck_max_seconds: float
    clock: Callable[[], dt.datetime]

    async def due_name_checks(self) -> list[int]:
        """Ids /universe/names/ refused earlier whose re-check time has come."""
        async with self.database.sessionmaker() as session:
            return list(
                (
                    await session.execute(
                        select(NameCheck.entity_id)
                        .where(NameCheck.next_check_at <= self.clock())
                        .limit(NAMES_BATCH)
                    )
                ).scalars()
            )

    async def ensure_names(self, ids: Iterable[int]) -> None:
        """Store names for ``ids`` (characters, corporations, regions…) not yet known.
        An id ESI refuses (unknown to it for now: a character created minutes ago) is
        remembered in ``name_checks`` and asked again from a growing delay on, by any
        process. Raises :class:`Incomplete` when some batch could not be resolved now."""
        wanted = {i for i in ids if i > 0}
        if not wanted:
            return
        known: set[int] = set()
        waiting: dict[int, tuple[int, dt.datetime]] = {}
        now = self.clock()
        async with self.database.sessionmaker() as session:
            for batch in chunks(sorted(wanted), 1000):
                known.update(
                    (
                        await session.execute(
                            select(EntityName.entity_id).where(EntityName.entity_id.in_(batch))
                        )
                    ).scalars()
                )
            for batch in chunks(sorted(wanted - known), 1000):
                for entity_id, attempts, next_at in await session.execute(
                    select(NameCheck.entity_id, NameCheck.attempts, NameCheck.next_check_at).where(
                        NameCheck.entity_id.in_(batch)
                    )
                ):
                    waiting[entity_id] = (attempts, as_utc(next_at))
        todo = sorted(i for i in wanted - known if i not in waiting or waiting[i][1] <= now)
        if not todo:
            return
        results = await asyncio.gather(
            *(self._names_batch(list(batch)) for batch in chunks(todo, NAMES_BATCH)),
            return_exceptions=True,
        )
        rows: list[NameRow] = []
        refused: list[int] = []
        failed = 0
        for result in results:
            if isinstance(result, TransientEsiError):
                failed += 1
            elif isinstance(result, BaseException):
                raise result
            else:
                rows.extend(result[0])
                refused.extend(result[1])
        await self._save_names(rows)
        await self._save_checks(refused, {r.id for r in rows} & waiting.keys(), waiting, now)
        if failed:
            raise Incomplete(f"{failed} name batches failed")

    async def _save_checks(
        self,
        refused: Sequence[int],
        resolved: set[int],
        waiting: dict[int, tuple[int, dt.datetime]],
        now: dt.datetime,
    ) -> None:
        if not refused and not resolved:
            return
        rows = []
        for entity_id in refused:
            attempts = waiting.get(entity_id, (0, now))[0] + 1
            delay = recheck_delay(attempts, self.recheck_seconds, self.recheck_max_seconds)
            rows.append(
                {"entity_id": entity_id, "attempts": attempts, "next_check_at": now + delay}
            )
        async with self.writer.session() as session:
            await upsert(
                session,
                NameCheck.__table__,  # type: ignore[arg-type]
                rows,
                key=["entity_id"],
                update=["attempts", "next_check_at"],
            )
            if resolved:
                await session.execute(
                    delete(NameCheck).where(NameCheck.entity_id.in_(sorted(resolved)))
                )

    async def _names_batch(self, ids: list[int]) -> tuple[list[NameRow], list[int]]:
        """Resolve one batch: (names, ids ESI refused). ESI fails the whole call with 404
        when it does not know one id, so split and retry each half until the refused
        ids are isolated."""
        try:
            response = await self.esi.post("/universe/names/", route="names", json=ids)
        except PermanentEsiError as exc:
            if exc.status != 404:
                raise TransientEsiError(str(exc), status=exc.status) from exc
            if len(ids) == 1:
                log.info("esi_name_unknown", id=ids[0])
                return [], ids
            middle = len(ids) // 2
            left, right = await asyncio.gather(
                self._names_batch(ids[:middle]), self._names_batch(ids[middle:])
            )
            return left[0] + right[0], left[1] + right[1]
        rows, _ = parse_rows(NameRow, response.data, what="names")
        asked = set(ids)
        return [r for r in rows if r.id in asked], []

    async def _save_names(self, rows: Sequence[NameRow]) -> None:
        if not rows:
            return
        regions = [{"region_id": r.id, "name": r.name} for r in rows if r.category == "region"]
        async with self.writer.session() as session:
            await upsert(
                session,
                EntityName.__table__,  # type: ignore[arg-type]
                [{"entity_id": r.id, "name": r.name, "category": r.category} for r in rows],
                key=["entity_id"],
                update=["name", "category"],
            )
            await upsert(
                session,
                Region.__table__,  # type: ignore[arg-type]
                regions,
                key=["region_id"],
                update=["name"],
            )
