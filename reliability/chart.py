"""The error-budget burn-down chart: server-rendered SVG, no JavaScript.

One picture per SLO over its window: the share of the error budget left at each evaluation (a
line over a light area), the policy's at-risk line (dashed, labelled "freeze threshold (25%)"),
the zero line (budget spent; below it the band is red), and a vertical marker for every
production deployment of a release touching the service, on the same time axis. Every point and
marker carries a ``<title>`` (the browser's tooltip); the SVG has a ``<title>`` and ``<desc>`` for
screen readers and axis labels; ``table_rows`` gives exact values for a table beside it.

An SVG scales to its box, text included, so one drawing cannot read well both on a desk and on a
phone: the page draws it twice, ``WIDE`` (960 × 300, every point hoverable) and ``NARROW``
(400 × 280, fewer ticks), and its stylesheet shows the one that fits. The layout, the
``<svg>`` element and the thinning are shared with the other charts (``relcal/charts.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from relcal.charts import Layout, svg_open
from relcal.charts import num as _num
from relcal.charts import thin as _thin

from .wording import MINUS

WIDE = Layout("wide", 960, 300, 58, 16, 18, 48, most_ticks=8, hover_points=True)
NARROW = Layout("narrow", 400, 280, 48, 10, 18, 42, most_ticks=4, hover_points=False, font_size=14)
MOST_POINTS = 300
LOWEST = -100.0  # percent: an overspent budget below this is drawn at this line
TICK_STEPS = [
    timedelta(hours=hours) for hours in (1, 2, 3, 6, 12, 24, 48, 24 * 7, 24 * 14, 24 * 30)
]

COLORS = {
    "line": "#3451b2",
    "area": "#3451b2",
    "grid": "#e2e5ea",
    "axis": "#5f6b7a",
    "zero": "#1d2330",
    "threshold": "#a15c00",
    "at_risk": "#fff4d6",
    "exhausted": "#fdecea",
    "succeeded": "#1e7d4f",
    "failed": "#c0392b",
    "rolled_back": "#c0392b",
    "in_progress": "#5f6b7a",
}


@dataclass(frozen=True)
class Point:
    at: datetime
    remaining: float | None  # a fraction of the budget (1 untouched, < 0 overspent); None: no data
    label: str = ""  # the state, in words


@dataclass(frozen=True)
class Marker:
    at: datetime
    title: str  # "4.2.0 to prod, succeeded, 10 Nov 14:00"
    outcome: str


def thin(points: Sequence[Point], most: int = MOST_POINTS) -> list[Point]:
    """At most ``most`` points spread evenly, always keeping the first and the last."""
    return _thin(points, most)


def table_rows(points: Sequence[Point], most: int = 30) -> list[Point]:
    """A few evenly spread points, latest last, for the table of exact values."""
    return thin([p for p in points if p.remaining is not None], most)


def percent(fraction: float) -> str:
    value = fraction * 100
    text = f"{abs(value):.1f}%"
    return f"{MINUS}{text}" if value < -0.05 else text


def moment(at: datetime) -> str:
    return date_format(timezone.localtime(at), "j M H:i")


def deployment_title(*, version: str, environment: str, outcome: str, at: datetime) -> str:
    return f"{version} to {environment}, {outcome}, {moment(at)}"


@dataclass(frozen=True)
class Scale:
    layout: Layout
    start: datetime
    end: datetime
    bottom: float  # percent at the bottom of the plot (0 or below)
    top: float = 100.0

    def x(self, at: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        share = (at - self.start).total_seconds() / span
        left, right = self.layout.plot_left, self.layout.plot_right
        return left + min(max(share, 0.0), 1.0) * (right - left)

    def y(self, percent_value: float) -> float:
        value = min(max(percent_value, self.bottom), self.top)
        share = (self.top - value) / (self.top - self.bottom)
        return self.layout.plot_top + share * (self.layout.plot_bottom - self.layout.plot_top)


def _bottom(points: Sequence[Point], threshold: float) -> float:
    lowest = min(
        [p.remaining * 100 for p in points if p.remaining is not None] + [0.0, threshold * 100]
    )
    if lowest >= 0:
        return 0.0
    # Down to the next multiple of 25 below the lowest value, at most to LOWEST.
    return max(LOWEST, -25.0 * -(-abs(lowest) // 25))


def _y_ticks(bottom: float) -> list[float]:
    step = 25.0 if 100 - bottom <= 150 else 50.0
    ticks, value = [], 100.0
    while value >= bottom - 1e-9:
        ticks.append(value)
        value -= step
    return ticks


def _x_ticks(start: datetime, end: datetime, most: int) -> tuple[list[datetime], bool]:
    """Tick moments on whole local hours or midnights; True when they are days apart."""
    span = end - start
    step = next((s for s in TICK_STEPS if span / s <= most), TICK_STEPS[-1])
    local = timezone.localtime(start)
    daily = step >= timedelta(days=1)
    if daily:
        first = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        hours = int(step.total_seconds() // 3600)
        first = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while first.hour % hours:
            first += timedelta(hours=1)
    ticks, tick = [], first
    while tick <= end:
        ticks.append(tick)
        if daily:
            # Whole days on the local calendar, even across a DST change.
            wall = tick.replace(tzinfo=None) + step
            tick = timezone.make_aware(wall, timezone.get_current_timezone())
        else:
            tick = timezone.localtime(tick.astimezone(UTC) + step)
    return ticks, daily


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """Runs of points with a figure; a point without one breaks the line."""
    runs: list[list[Point]] = [[]]
    for point in points:
        if point.remaining is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def burndown_svg(
    *,
    points: Sequence[Point],
    start: datetime,
    end: datetime,
    threshold: float,
    markers: Sequence[Marker] = (),
    title: str,
    chart_id: str,
    layout: Layout = WIDE,
) -> SafeString:
    """The chart as inline SVG markup. ``threshold`` is a fraction (0.25 for 25 %)."""
    points = thin([p for p in points if start <= p.at <= end])
    scale = Scale(layout=layout, start=start, end=end, bottom=_bottom(points, threshold))
    with_figures = [p for p in points if p.remaining is not None]
    markers = [m for m in markers if start <= m.at <= end]
    left, right = layout.plot_left, layout.plot_right
    top, bottom = layout.plot_top, layout.plot_bottom
    out: list[str] = []
    add = out.append
    add(
        svg_open(
            layout=layout,
            chart_id=chart_id,
            title=title,
            description=_description(with_figures, threshold, markers),
            css=f"burndown burndown--{layout.name}",
        )
    )

    # Bands: at risk between the threshold and zero, exhausted below zero.
    y_threshold, y_zero = scale.y(threshold * 100), scale.y(0)
    add(
        f'<rect class="burndown__band burndown__band--at-risk" x="{left}" '
        f'y="{_num(y_threshold)}" width="{right - left}" height="{_num(y_zero - y_threshold)}" '
        f'fill="{COLORS["at_risk"]}"/>'
    )
    if scale.bottom < 0:
        add(
            f'<rect class="burndown__band burndown__band--exhausted" x="{left}" '
            f'y="{_num(y_zero)}" width="{right - left}" height="{_num(bottom - y_zero)}" '
            f'fill="{COLORS["exhausted"]}"/>'
        )

    # Grid and y axis.
    add('<g class="burndown__y-axis">')
    for value in _y_ticks(scale.bottom):
        y = _num(scale.y(value))
        if value != 0:
            add(
                f'<line class="burndown__grid" x1="{left}" x2="{right}" y1="{y}" y2="{y}" '
                f'stroke="{COLORS["grid"]}"/>'
            )
        label = f"{MINUS}{abs(value):.0f}%" if value < 0 else f"{value:.0f}%"
        add(
            f'<text x="{left - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{COLORS["axis"]}">{label}</text>'
        )
    middle = (top + bottom) / 2
    if layout.hover_points:
        add(
            f'<text class="burndown__axis-label" x="14" y="{_num(middle)}" '
            f'text-anchor="middle" transform="rotate(-90 14 {_num(middle)})" '
            f'fill="{COLORS["axis"]}">budget left</text>'
        )
    add("</g>")

    # x axis: ticks on local hours or days.
    ticks, daily = _x_ticks(start, end, layout.most_ticks)
    add('<g class="burndown__x-axis">')
    add(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{COLORS["axis"]}"/>')
    for tick in ticks:
        x = _num(scale.x(tick))
        label = date_format(tick, "j M") if daily or tick.hour == 0 else date_format(tick, "H:i")
        add(
            f'<g class="burndown__tick"><line x1="{x}" x2="{x}" y1="{bottom}" '
            f'y2="{bottom + 5}" stroke="{COLORS["axis"]}"/><text x="{x}" y="{bottom + 19}" '
            f'text-anchor="middle" fill="{COLORS["axis"]}">{escape(label)}</text></g>'
        )
    zone = timezone.localtime(end).tzname() or ""
    add(
        f'<text class="burndown__axis-label" x="{_num((left + right) / 2)}" '
        f'y="{layout.height - 5}" text-anchor="middle" fill="{COLORS["axis"]}">'
        f"time ({escape(zone)})</text>"
    )
    add("</g>")

    # The budget left: an area down to zero and the line over it.
    runs = _segments(points)
    for run in runs:
        coords = [(scale.x(p.at), scale.y(p.remaining * 100)) for p in run]
        outline = " ".join(f"{_num(x)},{_num(y)}" for x, y in coords)
        area = f"{_num(coords[0][0])},{_num(y_zero)} {outline} {_num(coords[-1][0])},{_num(y_zero)}"
        add(
            f'<polygon class="burndown__area" points="{area}" fill="{COLORS["area"]}" '
            'fill-opacity="0.10"/>'
        )
    if runs:
        path = " ".join(
            "M"
            + " L".join(f"{_num(scale.x(p.at))},{_num(scale.y(p.remaining * 100))}" for p in run)
            for run in runs
        )
        add(
            f'<path class="burndown__line" d="{path}" fill="none" stroke="{COLORS["line"]}" '
            'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>'
        )

    # Zero and the freeze threshold, over the area.
    add(
        f'<line class="burndown__zero" x1="{left}" x2="{right}" y1="{_num(y_zero)}" '
        f'y2="{_num(y_zero)}" stroke="{COLORS["zero"]}" stroke-width="1.5"/>'
    )
    label = f"freeze threshold ({threshold * 100:.0f}%)"
    add(
        f'<g class="burndown__threshold"><line x1="{left}" x2="{right}" '
        f'y1="{_num(y_threshold)}" y2="{_num(y_threshold)}" stroke="{COLORS["threshold"]}" '
        'stroke-width="2" stroke-dasharray="7 5"/>'
        f'<text x="{right - 4}" y="{_num(y_threshold - 6)}" text-anchor="end" '
        f'fill="{COLORS["threshold"]}" font-weight="600" stroke="#fff" stroke-width="4" '
        f'paint-order="stroke">{label}</text></g>'
    )

    # Deployments: a vertical line each, with a wide invisible stroke to hover.
    if markers:
        add('<g class="burndown__deployments">')
        for marker in markers:
            x = _num(scale.x(marker.at))
            color = COLORS.get(marker.outcome, COLORS["in_progress"])
            add(
                f'<g class="burndown__deployment burndown__deployment--{escape(marker.outcome)}">'
                f"<title>{escape(marker.title)}</title>"
                f'<line x1="{x}" x2="{x}" y1="{top}" y2="{bottom}" stroke="{color}" '
                'stroke-width="1.5" stroke-dasharray="2 3"/>'
                f'<path d="M{x},{top + 8} l-5,-8 h10 z" fill="{color}"/>'
                f'<line class="burndown__hit" x1="{x}" x2="{x}" y1="{top}" y2="{bottom}" '
                'stroke="transparent" stroke-width="12"/></g>'
            )
        add("</g>")

    # Points: invisible until hovered, each with its tooltip; the latest always shown.
    if with_figures:
        add('<g class="burndown__points">')
        for point in with_figures if layout.hover_points else ():
            x, y = _num(scale.x(point.at)), _num(scale.y(point.remaining * 100))
            state = f" · {point.label}" if point.label else ""
            add(
                f'<circle class="burndown__point" cx="{x}" cy="{y}" r="5" fill="transparent">'
                f"<title>{escape(moment(point.at))}: {percent(point.remaining)} of the budget "
                f"left{escape(state)}</title></circle>"
            )
        latest = with_figures[-1]
        add(
            f'<circle class="burndown__latest" cx="{_num(scale.x(latest.at))}" '
            f'cy="{_num(scale.y(latest.remaining * 100))}" r="4" fill="{COLORS["line"]}" '
            'stroke="#fff" stroke-width="2" pointer-events="none"/>'
        )
        add("</g>")
    else:
        add(
            f'<text class="burndown__empty" x="{_num((left + right) / 2)}" '
            f'y="{_num(middle)}" text-anchor="middle" fill="{COLORS["axis"]}">'
            "No figures in this window yet</text>"
        )
    add("</svg>")
    # Every text above is escaped or made of numbers.
    return mark_safe("".join(out))


def _description(points: Sequence[Point], threshold: float, markers: Sequence[Marker]) -> str:
    deployments = len(markers)
    marks = f"{deployments} production deployment{'s' if deployments != 1 else ''} marked"
    line = f"Freeze threshold at {threshold * 100:.0f}%; {marks}."
    if not points:
        return f"No figures yet. {line}"
    first, last = points[0], points[-1]
    return (
        f"Budget left went from {percent(first.remaining)} on {moment(first.at)} to "
        f"{percent(last.remaining)} on {moment(last.at)}. {line}"
    )
