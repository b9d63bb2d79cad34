"""The price-history chart as plain SVG geometry, drawn on the server (no script).

:func:`price_chart` turns daily aggregates into coordinates; the template
(``web/templates/_chart.html``) writes them as SVG elements with classes styled by the
site's CSS file, so the chart works under a strict CSP and without JavaScript. The same
numbers are printed in a table beneath it for screen readers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 16, 14, 30


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    band: str = ""  # polygon points: p25 to p75
    median: str = ""  # polyline points
    points: list[tuple[float, float, str]] = field(default_factory=list)  # median dots
    lows: list[tuple[float, float]] = field(default_factory=list)  # daily minimum
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str, str]] = field(default_factory=list)  # x, label, anchor
    plot: tuple[int, int, int, int] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)


def price_chart(days: Sequence[dict[str, Any]], label: Callable[[float], str]) -> Chart | None:
    """Geometry for these daily aggregates (oldest first); None without data.
    ``label`` formats an ISK amount for the axis."""
    if not days:
        return None
    chart = Chart()
    x0, y0, x1, y1 = chart.plot
    first: dt.date = days[0]["date"]
    span = max((days[-1]["date"] - first).days, 1)
    low = min(d["min"] for d in days)
    high = max(d["p75"] for d in days)
    if high <= low:
        high, low = low * 1.1 + 1, low * 0.9
    pad = (high - low) * 0.05
    low, high = max(low - pad, 0.0), high + pad

    def x(day: dt.date) -> float:
        if len(days) == 1:
            return float(x0 + x1) / 2
        return float(round(x0 + (day - first).days / span * (x1 - x0), 1))

    def y(value: float) -> float:
        return float(round(y1 - (value - low) / (high - low) * (y1 - y0), 1))

    upper = [f"{x(d['date'])},{y(d['p75'])}" for d in days]
    lower = [f"{x(d['date'])},{y(d['p25'])}" for d in reversed(days)]
    chart.band = " ".join(upper + lower)
    chart.median = " ".join(f"{x(d['date'])},{y(d['median'])}" for d in days)
    chart.points = [
        (x(d["date"]), y(d["median"]), f"{d['date']:%Y-%m-%d}: median {label(d['median'])}")
        for d in days
    ]
    chart.lows = [(x(d["date"]), y(d["min"])) for d in days]
    chart.y_ticks = [(y(v), label(v)) for v in (low + (high - low) * i / 4 for i in range(5))]
    marks = [days[0]["date"], days[len(days) // 2]["date"], days[-1]["date"]]
    anchors = {x0: "start", x1: "end"}
    chart.x_ticks = [
        (x(d), f"{d:%d %b}", anchors.get(round(x(d)), "middle")) for d in dict.fromkeys(marks)
    ]
    return chart
