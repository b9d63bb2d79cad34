"""ESI's public routes, served as a bare ASGI handler.

It sits in front of FastAPI instead of being a set of FastAPI routes for two reasons:
per-request cost (a 1,000-row page must cost little more than a socket write) and full
control of the wire, which faults need (an empty body, truncated JSON, a connection that
breaks mid-response).
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

import orjson

from esi_sim import catalog
from esi_sim.catalog import GROUPS, TYPES
from esi_sim.market import (
    PAGE_SIZE,
    T_AUCTION,
    bid_dicts,
    etag,
    iso,
    items_pages,
    mix,
)
from esi_sim.routes import route_between
from esi_sim.sim import Simulator

Scope = dict[str, Any]
Message = dict[str, Any]

_VERSION = re.compile(r"^(latest|dev|legacy|v[1-9][0-9]?)$")
INT32_MAX = 2_147_483_647
ERROR_LIMITED_MESSAGE = (
    "This software has exceeded the error limit for ESI. If you are a user, please contact "
    "the maintainer of this software. If you are a developer/maintainer, please make a "
    "greater effort in the future to receive valid responses."
)
_ERROR_BODIES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "The datasource tranquility is temporarily unavailable",
    504: "Timeout contacting tranquility",
}
# Routes whose data changes once a day at 11:05 UTC (after downtime), as the spec says.
_DAILY = 11 * 3600 + 5 * 60
_STATION_SERVICES = [
    "bounty-missions", "courier-missions", "reprocessing-plant", "market", "cloning",
    "repair-facilities", "factory", "fitting", "insurance", "docking", "office-rental",
]  # fmt: skip


class BadRequest(Exception):
    pass


@dataclass(slots=True)
class Resp:
    status: int
    body: bytes = b""
    etag: str | None = None
    expires: float | None = None
    last_modified: float | None = None
    pages: int | None = None
    content_language: bool = False
    # 204 and 304 carry caching headers but no body.
    cached: bool = True
    extra: list[tuple[bytes, bytes]] = field(default_factory=list)


def _error(status: int, message: str, **more: Any) -> Resp:
    return Resp(status, orjson.dumps({"error": message, **more}), cached=False)


def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


def _path_int(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"failed to coerce value '{raw}' into type integer ({name})") from None
    if value < 0 or value > INT32_MAX:
        raise BadRequest(f"{name} {value} is outside the int32 range")
    return value


def _page(query: dict[str, list[str]]) -> int:
    raw = query.get("page", ["1"])[-1]
    try:
        page = int(raw)
    except ValueError:
        raise BadRequest(f"failed to coerce value '{raw}' into type integer (page)") from None
    if page < 1 or page > INT32_MAX:
        raise BadRequest("page must be >= 1")
    return page


def _daily_window(now: float) -> tuple[float, float]:
    start = math.floor((now - _DAILY) / 86400) * 86400 + _DAILY
    return start, start + 86400


class EsiApp:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._static: dict[tuple[str, int], bytes] = {}
        self._names: dict[str, list[tuple[str, int, str]]] | None = None
        self._id_names: dict[int, tuple[str, str]] | None = None

    # --- ASGI ---------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        method = scope["method"]
        head = method == "HEAD"
        if head:
            method = "GET"
        parts = [p for p in scope["path"].split("/") if p]
        if parts and _VERSION.match(parts[0]):
            parts = parts[1:]
        route, handler_args = self._match(method, parts)
        body = b""
        if method == "POST":
            body = await _read_body(receive)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        inm = _header(scope, b"if-none-match")
        sim = self.sim
        now = sim.now()

        remain, _ = sim.budget()
        resp: Resp | None = None
        bucket = sim.rate_state(route)
        if remain <= 0:
            resp = _error(420, ERROR_LIMITED_MESSAGE)
        elif bucket is not None and bucket[0] >= bucket[1]:
            resp = _error(429, "Too many requests")
            resp.extra.append((b"retry-after", str(bucket[2]).encode()))
        elif sim.faults.down is not None and route != "unknown":
            if sim.faults.down == "connection":
                sim.record(route, 599)
                await _break_connection(send)
                return
            status = int(sim.faults.down)
            resp = _error(status, _ERROR_BODIES[status])
        decision = sim.decide(route) if resp is None and route != "unknown" else None
        if decision is not None:
            if decision.latency_s > 0:
                await asyncio.sleep(decision.latency_s)
                now = sim.now()
            if decision.error_status is not None:
                status = decision.error_status
                msg = _ERROR_BODIES.get(status, "Internal server error")
                resp = _error(status, msg, timeout=10) if status == 504 else _error(status, msg)
        if resp is None:
            try:
                resp = self._dispatch(route, handler_args, query, body, now)
            except BadRequest as exc:
                resp = _error(400, str(exc))
        if (
            resp.status == 200
            and inm is not None
            and resp.etag is not None
            and resp.etag in {t.strip().removeprefix("W/") for t in inm.split(",")}
        ):
            resp = Resp(304, b"", resp.etag, resp.expires, resp.last_modified)
        if resp.status == 200 and decision is not None:
            if decision.empty:
                resp.body = b""
            elif decision.truncated and len(resp.body) > 1:
                resp.body = resp.body[: max(1, len(resp.body) // 2)]
        sim.record(route, resp.status)
        if bucket is not None:
            sim.rate_charge(route, resp.status)
            rl = sim.faults.rate_limit
            used, limit, _ = sim.rate_state(route) or bucket
            if rl is not None:
                window = (
                    f"{rl.window_seconds // 60}m"
                    if rl.window_seconds % 60 == 0
                    else f"{rl.window_seconds}s"
                )
                resp.extra += [
                    (b"x-ratelimit-group", rl.group.encode()),
                    (b"x-ratelimit-limit", f"{limit}/{window}".encode()),
                    (b"x-ratelimit-remaining", str(max(0, limit - used)).encode()),
                    (b"x-ratelimit-used", str(used).encode()),
                ]
        await self._send(send, resp, now, head)

    async def _send(self, send: Any, resp: Resp, now: float, head: bool = False) -> None:
        remain, reset = self.sim.budget()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json; charset=UTF-8"),
            (b"date", http_date(now).encode()),
            (b"x-esi-error-limit-remain", str(remain).encode()),
            (b"x-esi-error-limit-reset", str(reset).encode()),
            (b"access-control-allow-origin", b"*"),
        ]
        if resp.cached and resp.status in (200, 204, 304):
            headers.append((b"cache-control", b"public"))
            if resp.etag is not None:
                headers.append((b"etag", resp.etag.encode()))
            offset = self.sim.faults.expires_offset_seconds
            if offset is not None:
                headers.append((b"expires", http_date(now + offset).encode()))
            elif resp.expires is not None:
                headers.append((b"expires", http_date(resp.expires).encode()))
            if resp.last_modified is not None:
                headers.append((b"last-modified", http_date(resp.last_modified).encode()))
        if resp.status == 200:
            if resp.pages is not None:
                headers.append((b"x-pages", str(resp.pages).encode()))
            if resp.content_language:
                headers.append((b"content-language", b"en"))
        headers.extend(resp.extra)
        body = b"" if resp.status in (204, 304) else resp.body
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    # --- routing --------------------------------------------------------------------------
    @staticmethod
    def _match(method: str, parts: list[str]) -> tuple[str, list[str]]:
        n = len(parts)
        if method == "GET":
            if n == 3 and parts[0] == "contracts" and parts[1] == "public":
                return "contracts", [parts[2]]
            if n == 4 and parts[0] == "contracts" and parts[1] == "public":
                if parts[2] == "items":
                    return "items", [parts[3]]
                if parts[2] == "bids":
                    return "bids", [parts[3]]
            if n >= 2 and parts[0] == "universe":
                if n == 2 and parts[1] == "regions":
                    return "regions", []
                if n == 3:
                    kind = {
                        "regions": "region",
                        "constellations": "constellation",
                        "systems": "system",
                        "stations": "station",
                        "types": "type",
                        "groups": "group",
                        "categories": "category",
                    }.get(parts[1])
                    if kind:
                        return kind, [parts[2]]
            if parts == ["markets", "prices"]:
                return "prices", []
            if parts == ["status"]:
                return "status", []
            if n == 3 and parts[0] == "route":
                return "route", parts[1:]
        if method == "POST" and n == 2 and parts[0] == "universe":
            if parts[1] == "names":
                return "names", []
            if parts[1] == "ids":
                return "ids", []
        return "unknown", []

    def _dispatch(
        self, route: str, args: list[str], query: dict[str, list[str]], body: bytes, now: float
    ) -> Resp:
        ds = query.get("datasource")
        if ds is not None and ds[-1] != "tranquility":
            raise BadRequest(f"Invalid datasource '{ds[-1]}': must be one of tranquility")
        if route == "unknown":
            return _error(404, "Not found")
        if route == "contracts":
            return self._contracts(_path_int(args[0], "region_id"), _page(query))
        if route == "items":
            return self._items(_path_int(args[0], "contract_id"), _page(query), now)
        if route == "bids":
            return self._bids(_path_int(args[0], "contract_id"), _page(query), now)
        if route == "names":
            return self._post_names(body)
        if route == "ids":
            return self._post_ids(body)
        if route == "prices":
            return self._prices(now)
        if route == "status":
            return self._status(now)
        if route == "route":
            return self._route(_path_int(args[0], "origin"), _path_int(args[1], "destination"), now)
        ident = _path_int(args[0], f"{route}_id") if args else 0
        return self._universe(route, ident, now)

    # --- contracts ------------------------------------------------------------------------
    def _contracts(self, region_id: int, page: int) -> Resp:
        sim = self.sim
        if region_id not in sim.geo.regions:
            return _error(404, "Region not found")
        with sim.lock:
            rs = sim.market.regions[region_id]
            size = sim.faults.page_size
            pages = rs.page_count if size is None else max(1, -(-len(rs.live) // size))
            if page > pages:
                return _error(
                    404, "Undefined 404 response. Original message: Requested page does not exist!"
                )
            if size is not None or sim.faults.duplicate_rows:
                step = size or PAGE_SIZE
                rows = rs.live[(page - 1) * step : page * step]
                if sim.faults.duplicate_rows and page > 1:
                    # The previous page's last row again, as when the listing shifts
                    # while it is being paged through.
                    rows = [rs.live[(page - 1) * step - 1], *rows]
                body = b"[" + b",".join(c.body for c in rows) + b"]"
                tag = etag(body)
            else:
                body, tag = rs.page(page)
            t0 = sim.market.t0
            last = rs.snapshot_time(t0, rs.window)
            expires = rs.snapshot_time(t0, rs.window + 1)
        if sim.faults.flapping_pages:
            # Alternate between the true count and one more, request by request.
            pages += sim.region_request_number(region_id) % 2
        if page in sim.faults.drop_x_pages:
            return Resp(200, body, tag, expires, last, None)
        return Resp(200, body, tag, expires, last, pages)

    def _items(self, contract_id: int, page: int, now: float) -> Resp:
        sim = self.sim
        c = sim.market.index.get(contract_id)
        if c is None:
            return _error(404, "Contract not found!")
        if sim.streak_504(contract_id):
            return _error(504, _ERROR_BODIES[504], timeout=10)
        expires = math.floor(now) + 3600
        if c.ends <= now or sim.items_204(contract_id):
            return Resp(204, b"", etag(b"ended:%d" % contract_id), expires, c.ends)
        pages = items_pages(sim.seed, c)
        if page > len(pages):
            return _error(
                404, "Undefined 404 response. Original message: Requested page does not exist!"
            )
        body = pages[page - 1]
        return Resp(200, body, etag(body), expires, c.issued, len(pages))

    def _bids(self, contract_id: int, page: int, now: float) -> Resp:
        sim = self.sim
        c = sim.market.index.get(contract_id)
        if c is None:
            return _error(404, "Contract not found!")
        if sim.streak_504(contract_id):
            return _error(504, _ERROR_BODIES[504], timeout=10)
        snap = math.floor(now / 300) * 300
        if c.ends <= now:
            return Resp(204, b"", etag(b"ended:%d" % contract_id), snap + 300, c.ends)
        bids = bid_dicts(sim.seed, c, snap) if c.type == T_AUCTION else []
        chunks = [bids[i : i + PAGE_SIZE] for i in range(0, len(bids), PAGE_SIZE)] or [[]]
        if page > len(chunks):
            return _error(
                404, "Undefined 404 response. Original message: Requested page does not exist!"
            )
        body = orjson.dumps(chunks[page - 1])
        return Resp(200, body, etag(body), snap + 300, snap, len(chunks))

    def _route(self, origin: int, destination: int, now: float) -> Resp:
        path = route_between(self.sim.geo, origin, destination)
        if path is None:
            return _error(404, "No route found")
        body = orjson.dumps(path)
        last, expires = _daily_window(now)
        return Resp(200, body, etag(body), expires, last)

    # --- universe -------------------------------------------------------------------------
    def _universe(self, route: str, ident: int, now: float) -> Resp:
        key = (route, ident)
        body = self._static.get(key)
        if body is None:
            data = self._universe_data(route, ident)
            if data is None:
                label = {
                    "region": "Region",
                    "constellation": "Constellation",
                    "system": "Solar system",
                    "station": "Station",
                    "type": "Type",
                    "group": "Group",
                    "category": "Category",
                }[route]
                return _error(404, f"{label} not found")
            body = orjson.dumps(data)
            self._static[key] = body
        last, expires = _daily_window(now)
        lang = route not in ("regions", "station")
        return Resp(200, body, etag(body), expires, last, content_language=lang)

    def _universe_data(self, route: str, ident: int) -> Any:
        geo = self.sim.geo
        if route == "regions":
            return sorted(geo.regions)
        if route == "region":
            r = geo.regions.get(ident)
            if r is None:
                return None
            return {
                "constellations": list(r.constellations),
                "description": f"{r.name}: a region of New Eden.",
                "name": r.name,
                "region_id": r.region_id,
            }
        if route == "constellation":
            c = geo.constellations.get(ident)
            if c is None:
                return None
            x, y, z = c.position
            return {
                "constellation_id": c.constellation_id,
                "name": c.name,
                "position": {"x": x, "y": y, "z": z},
                "region_id": c.region_id,
                "systems": list(c.systems),
            }
        if route == "system":
            s = geo.systems.get(ident)
            if s is None:
                return None
            x, y, z = s.position
            out: dict[str, Any] = {
                "constellation_id": s.constellation_id,
                "name": s.name,
                "position": {"x": x, "y": y, "z": z},
                "security_status": s.security,
                "system_id": s.system_id,
            }
            if s.stations:
                out["stations"] = list(s.stations)
            return out
        if route == "station":
            st = geo.stations.get(ident)
            if st is None:
                return None
            x, y, z = st.position
            return {
                "max_dockable_ship_volume": 50_000_000.0,
                "name": st.name,
                "office_rental_cost": 10_000.0 + (st.station_id % 97) * 1_000.0,
                "position": {"x": x, "y": y, "z": z},
                "reprocessing_efficiency": 0.5,
                "reprocessing_stations_take": 0.05,
                "services": _STATION_SERVICES,
                "station_id": st.station_id,
                "system_id": st.system_id,
                "type_id": catalog.STATION_TYPE_ID,
            }
        if route == "type":
            t = TYPES.get(ident)
            if t is None:
                return None
            return {
                "description": f"{t.name}.",
                "group_id": t.group_id,
                "name": t.name,
                "packaged_volume": t.packaged_volume,
                "portion_size": 1,
                "published": True,
                "type_id": t.type_id,
                "volume": t.volume,
            }
        if route == "group":
            g = GROUPS.get(ident)
            if g is None:
                return None
            return {
                "category_id": g[1],
                "group_id": ident,
                "name": g[0],
                "published": True,
                "types": catalog.group_types(ident),
            }
        if route == "category":
            name = catalog.CATEGORIES.get(ident)
            if name is None:
                return None
            return {
                "category_id": ident,
                "groups": catalog.category_groups(ident),
                "name": name,
                "published": True,
            }
        raise AssertionError(route)

    def _id_index(self) -> dict[int, tuple[str, str]]:
        if self._id_names is None:
            geo, people = self.sim.geo, self.sim.people
            idx: dict[int, tuple[str, str]] = {}
            for rid, r in geo.regions.items():
                idx[rid] = (r.name, "region")
            for cid, c in geo.constellations.items():
                idx[cid] = (c.name, "constellation")
            for sid, s in geo.systems.items():
                idx[sid] = (s.name, "solar_system")
            for stid, st in geo.stations.items():
                idx[stid] = (st.name, "station")
            for tid, t in TYPES.items():
                idx[tid] = (t.name, "inventory_type")
            for chid, name in people.characters.items():
                idx[chid] = (name, "character")
            for coid, name in people.corporations.items():
                idx[coid] = (name, "corporation")
            self._id_names = idx
        return self._id_names

    def _post_names(self, body: bytes) -> Resp:
        try:
            ids = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest("Invalid body: expected a JSON array of ids") from None
        if not isinstance(ids, list) or not ids:
            raise BadRequest("ids must be a non-empty array of integers")
        if len(ids) > 1000:
            raise BadRequest("ids may contain at most 1000 items")
        if any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
            raise BadRequest("ids must be integers")
        if len(set(ids)) != len(ids):
            raise BadRequest("ids must not contain duplicates")
        idx = self._id_index()
        unknown = set(self.sim.faults.unknown_names)
        out = []
        for i in ids:
            hit = None if i in unknown else idx.get(i)
            if hit is None:
                # ESI fails the whole call on a single id it cannot resolve.
                return _error(404, "Ensure all IDs are valid before resolving.")
            out.append({"category": hit[1], "id": i, "name": hit[0]})
        return Resp(200, orjson.dumps(out), cached=False)

    def _post_ids(self, body: bytes) -> Resp:
        try:
            names = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest("Invalid body: expected a JSON array of names") from None
        if not isinstance(names, list) or not names or len(names) > 500:
            raise BadRequest("names must be an array of 1 to 500 strings")
        if any(not isinstance(n, str) or not 1 <= len(n) <= 100 for n in names):
            raise BadRequest("each name must be a string of 1 to 100 characters")
        if self._names is None:
            by_name: dict[str, list[tuple[str, int, str]]] = {}
            for ident, (name, cat) in self._id_index().items():
                by_name.setdefault(name.lower(), []).append((cat, ident, name))
            self._names = by_name
        keys = {
            "character": "characters",
            "corporation": "corporations",
            "region": "regions",
            "constellation": "constellations",
            "solar_system": "systems",
            "station": "stations",
            "inventory_type": "inventory_types",
        }
        out: dict[str, list[dict[str, Any]]] = {}
        for n in dict.fromkeys(names):
            for cat, ident, name in self._names.get(n.lower(), []):
                out.setdefault(keys[cat], []).append({"id": ident, "name": name})
        return Resp(200, orjson.dumps(out), cached=False, content_language=True)

    def _prices(self, now: float) -> Resp:
        body = self._static.get(("prices", 0))
        if body is None:
            rows = []
            for tid in sorted(TYPES):
                t = TYPES[tid]
                if t.price <= 0:
                    continue
                h = mix(self.sim.seed, tid, 9)
                avg = round(t.price * (0.9 + (h % 2000) / 10000), 2)
                adj = round(t.price * (0.85 + ((h >> 16) % 3000) / 10000), 2)
                row: dict[str, Any] = {"adjusted_price": adj, "type_id": tid}
                # Blueprints and SKINs have no market average on ESI, only an adjusted price.
                if t.category_id not in (9, 91):
                    row["average_price"] = avg
                rows.append(row)
            body = orjson.dumps(rows)
            self._static[("prices", 0)] = body
        snap = math.floor(now / 3600) * 3600
        return Resp(200, body, etag(body), snap + 3600, snap)

    def _status(self, now: float) -> Resp:
        snap = math.floor(now / 30) * 30
        start = math.floor((now - 11 * 3600) / 86400) * 86400 + 11 * 3600
        players = 18_000 + mix(self.sim.seed, snap) % 14_000
        body = orjson.dumps(
            {"players": players, "server_version": "2871543", "start_time": iso(start)}
        )
        return Resp(200, body, etag(body), snap + 30, snap)


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            value: str = v.decode("latin-1")
            return value
    return None


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _break_connection(send: Any) -> None:
    # Promising more bytes than are sent makes the server drop the connection once the
    # app finishes, so the client sees a transport-level failure, not an HTTP status.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'[{"contract_id', "more_body": False})
