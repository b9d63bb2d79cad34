"""``GET /route/{origin}/{destination}/``: a plausible shortest route between two systems.

The simulated map has no stargates, so a route is made up, deterministically from the
two system ids: 0 jumps within a system, 1-3 within a constellation, 2-9 within a region,
more across regions (farther for regions further apart in id order). The answer is the
list of system ids from origin to destination, as ESI gives it, and is symmetric (the
way back is the same route reversed). J-space has no route: ``None`` (ESI's 404).
"""

from __future__ import annotations

import random

from esi_sim.geography import Geography
from esi_sim.market import mix

WORMHOLE_FIRST = 31_000_000
WORMHOLE_END = 32_000_000


def _in_wormhole(system_id: int) -> bool:
    return WORMHOLE_FIRST <= system_id < WORMHOLE_END


def route_between(geo: Geography, origin: int, destination: int) -> list[int] | None:
    """System ids from ``origin`` to ``destination`` inclusive, or ``None`` (no route)."""
    systems = geo.systems
    if origin not in systems or destination not in systems:
        return None
    if _in_wormhole(origin) or _in_wormhole(destination):
        return None
    if origin == destination:
        return [origin]
    low, high = sorted((origin, destination))
    rng = random.Random(mix(low, high, 0x60A7))
    a, b = systems[low], systems[high]
    if a.constellation_id == b.constellation_id:
        jumps = rng.randint(1, 3)
    elif a.region_id == b.region_id:
        jumps = rng.randint(2, 9)
    else:
        regions = sorted(geo.regions)
        apart = abs(regions.index(a.region_id) - regions.index(b.region_id))
        jumps = 6 + min(apart, 30) + rng.randint(0, 8)
    pool = sorted(s for s in systems if not _in_wormhole(s) and s not in (low, high))
    middle = rng.sample(pool, min(jumps - 1, len(pool)))
    path = [low, *middle, high]
    return path if low == origin else path[::-1]
