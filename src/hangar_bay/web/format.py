"""Jinja filters and the browse rows' formatting: ISK amounts, security status, discount
badges and durations the way pilots read them."""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from typing import NamedTuple

from hangar_bay.contracts.query import HIGH_SEC, WORMHOLE_SYSTEMS
from hangar_bay.ingest.universe import STRUCTURE_MIN_ID
from hangar_bay.settings import Settings

# EVE's in-game markup in titles: <url=showinfo:587>Rifter</url>, <font color=...>, <b>.
# Only the game's own tags: any other "<...>" is the issuer's text and is shown as typed.
_MARKUP = re.compile(r"</?(?:url|font|color|b|i|u|br|a|loc|fontsize)(?:[=\s][^<>]*)?/?>", re.I)


def isk(value: float | None) -> str:
    """Compact ISK for dense tables: 950K, 55.0M, 1.25B."""
    if value is None:
        return "—"
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            scaled = value / limit
            digits = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{scaled:.{digits}f}{suffix}"
    return f"{value:,.0f}"


def isk_full(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f} ISK"


def number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def plain(value: float | None) -> str:
    """A number as an <input type=number> accepts it: no separators, no exponent."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:f}".rstrip("0")


def security_display(value: float | None) -> str:
    """EVE shows one decimal, and any positive status below 0.05 as 0.1 (still low-sec)."""
    if value is None:
        return "?"
    if 0.0 < value < 0.05:
        return "0.1"
    return f"{math.floor(value * 10 + 0.5) / 10:.1f}"


def security_band(value: float | None, system_id: int | None = None) -> str:
    if system_id is not None and WORMHOLE_SYSTEMS[0] <= system_id < WORMHOLE_SYSTEMS[1]:
        return "wormhole"
    if value is None:
        return "unknown"
    if value >= HIGH_SEC:
        return "high"
    return "low" if value > 0.0 else "null"


class SecurityBadge(NamedTuple):
    """A system's security as the pages show it: ``<span class="sec sec-{band}"
    title="Security status {status}">{label}</span>`` (templates/_macros.html)."""

    band: str  # security_band's: high, low, null, wormhole or unknown (the CSS colour)
    status: str  # the stored status as is ("0.9459"), or "unknown"
    label: str  # one decimal as in the game ("0.9"), "WH" in J-space, "?" unknown


def security_badge(value: float | None, system_id: int | None = None) -> SecurityBadge:
    """``value``: security status (-1.0 to 1.0) or None when unknown (player structures)."""
    band = security_band(value, system_id)
    label = "WH" if band == "wormhole" else security_display(value)
    return SecurityBadge(band, "unknown" if value is None else str(value), label)


class DiscountBadge(NamedTuple):
    """A discount as a badge: ``<span class="badge {kind}">{text}</span>``; the text says
    the direction, the colour (kind: below, above, at) only helps."""

    kind: str
    text: str


def discount_badge(discount: float) -> DiscountBadge:
    """``discount``: (value - price) / value, so 0.25 is "25% below value"; within half a
    percent either way reads "at value"."""
    if discount >= 0.005:
        return DiscountBadge("below", f"{round(discount * 100)}% below value")
    if discount <= -0.005:
        return DiscountBadge("above", f"{round(-discount * 100)}% above value")
    return DiscountBadge("at", "at value")


def duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "<1m"
    minutes = seconds // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def time_left(expires: dt.datetime, now: dt.datetime) -> str:
    return "expired" if expires <= now else duration(expires - now)


def ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    if moment is None:
        return "never"
    return f"{duration(now - moment)} ago" if moment <= now else "just now"


def timestamp(moment: dt.datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def contract_type_label(value: str) -> str:
    return {
        "item_exchange": "Item exchange",
        "auction": "Auction",
        "courier": "Courier",
        "loan": "Loan",
    }.get(value, value.replace("_", " ").capitalize())


def game_text(value: str | None) -> str:
    """A title as the game shows it: in-game markup tags dropped, their text kept.

    Only for display (the result is still escaped by the template); the JSON keeps the
    raw title. Titles can arrive with the markup itself HTML-escaped
    (``&lt;url=showinfo:587&gt;Harbinger``): entities are decoded first, so both forms
    read "Harbinger" instead of showing escape codes.
    """
    if not value:
        return ""
    return " ".join(_MARKUP.sub("", html.unescape(value)).split())


def shorten(text: str, length: int, leeway: int = 5) -> str:
    """``text`` cut to at most ``length`` characters at a word boundary, with "..."; text
    up to ``leeway`` characters longer is left whole. Jinja's ``truncate`` filter with its
    default policy, which the browse table used before it was computed in Python."""
    if len(text) <= length + leeway:
        return text
    return text[: length - 3].rsplit(" ", 1)[0] + "..."


def structure_id(location_id: int | None) -> bool:
    """Player structures have ids from 100,000,000 up (NPC stations 60,000,000-69,999,999)."""
    return location_id is not None and location_id >= STRUCTURE_MIN_ID


def ingestion_off(settings: Settings) -> bool:
    """True when this process cannot read ESI: the real ESI without an operator contact
    (``serve`` then serves what is stored and polls nothing)."""
    return settings.uses_real_esi and not settings.esi_user_agent.strip()
