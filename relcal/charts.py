"""Server-rendered SVG charts, shared by every page that draws one (no JavaScript).

The pieces every chart needs — a ``Layout`` (the box and the margins for the axes' labels),
``thin`` (at most so many points), ``num`` (coordinates as SVG text) and ``svg_open`` (the
``<svg>`` element with a ``<title>`` and ``<desc>`` for screen readers) — and one generic chart,
``trend_svg``: a value per bucket (a week, a month) as bars or as a line, each bucket with a
``<title>`` (the browser's tooltip) over its whole column. The Reliability burn-down chart
(``reliability/chart.py``) and the Delivery trend charts (``delivery/charts.py``) are drawn with
them.

An SVG scales to its box, text included, so one drawing cannot read well both on a desk and on a
phone: pages draw a chart twice, with a wide and a narrow layout, and the stylesheet shows the
one that fits (``.chart--narrow`` in relcal.css).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import ceil, floor, log10
from typing import TypeVar

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

T = TypeVar("T")

AXIS = "#5f6b7a"
GRID = "#e2e5ea"
ACCENT = "#3451b2"
EMPTY = "#9aa3ae"


@dataclass(frozen=True)
class Layout:
    name: str
    width: int
    height: int
    left: int  # margins around the plot: room for the axes' labels
    right: int
    top: int
    bottom: int
    most_ticks: int
    hover_points: bool  # a tooltip per point (a pointer's job; a phone has none)
    font_size: int = 13

    @property
    def plot_left(self) -> int:
        return self.left

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_top(self) -> int:
        return self.top

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom


def thin(items: Sequence[T], most: int) -> list[T]:
    """At most ``most`` items spread evenly, always keeping the first and the last."""
    if len(items) <= most:
        return list(items)
    last = len(items) - 1
    picks = sorted({round(i * last / (most - 1)) for i in range(most)})
    return [items[i] for i in picks]


def num(value: float) -> str:
    return f"{value:.1f}"


def svg_open(*, layout: Layout, chart_id: str, title: str, description: str, css: str) -> str:
    """The ``<svg>`` element, labelled by its ``<title>`` and ``<desc>``; close it with
    ``</svg>``. ``css`` is its class attribute."""
    ids = escape(f"{chart_id}-title {chart_id}-desc")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css)}" '
        f'id="{escape(chart_id)}" viewBox="0 0 {layout.width} {layout.height}" role="img" '
        f'aria-labelledby="{ids}" font-family="system-ui, sans-serif" '
        f'font-size="{layout.font_size}">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
    )


def nice_ticks(highest: float, most: int = 5) -> list[float]:
    """Ticks from 0 up to a round number at or above ``highest``: 0, 2, 4, 6 or 0, 25, 50…"""
    if highest <= 0:
        return [0.0, 1.0]
    rough = highest / (most - 1)
    power = 10 ** floor(log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    count = -(-highest // step)  # ceil
    return [round(i * step, 10) for i in range(int(count) + 1)]


# --- The trend chart --------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    label: str  # on the x axis: "3 Mar", "Mar 2025"
    value: float | None  # in the chart's unit; None: no data (drawn as a gap, never as 0)
    title: str  # the tooltip: "Week of 3 Mar: median 2.5 h over 8 changes"


TREND_WIDE = Layout("wide", 960, 250, 64, 16, 14, 40, most_ticks=12, hover_points=True)
TREND_NARROW = Layout(
    "narrow", 400, 260, 56, 10, 14, 40, most_ticks=4, hover_points=False, font_size=15
)


def trend_svg(
    *,
    buckets: Sequence[Bucket],
    title: str,
    chart_id: str,
    tick_text: Callable[[float], str],
    axis_label: str,
    bars: bool = False,
    layout: Layout = TREND_WIDE,
    highest: float | None = None,
) -> SafeString:
    """One value per bucket, as bars (``bars``) or as a line with a dot per bucket, over a y
    axis from 0 to a round number (at least ``highest`` when given: 100 for a percentage).
    Every bucket's column carries its ``title``; buckets without a value are gaps."""
    left, right = layout.plot_left, layout.plot_right
    top, bottom = layout.plot_top, layout.plot_bottom
    figures = [b.value for b in buckets if b.value is not None]
    ticks = nice_ticks(max([*figures, highest or 0.0]))
    ceiling = ticks[-1]
    band = (right - left) / max(len(buckets), 1)

    def x(index: int) -> float:
        return left + band * (index + 0.5)

    def y(value: float) -> float:
        return bottom - (min(max(value, 0.0), ceiling) / ceiling) * (bottom - top)

    style = "bars" if bars else "line"
    out = [
        svg_open(
            layout=layout,
            chart_id=chart_id,
            title=title,
            description=_description(buckets),
            css=f"chart chart--{layout.name} trend trend--{style}",
        )
    ]
    add = out.append

    add('<g class="trend__y-axis">')
    for tick in ticks:
        at = num(y(tick))
        if tick:
            add(
                f'<line class="trend__grid" x1="{left}" x2="{right}" y1="{at}" y2="{at}" '
                f'stroke="{GRID}"/>'
            )
        add(
            f'<text x="{left - 6}" y="{at}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{AXIS}">{escape(tick_text(tick))}</text>'
        )
    middle = (top + bottom) / 2
    if layout.hover_points:
        add(
            f'<text class="trend__axis-label" x="14" y="{num(middle)}" text-anchor="middle" '
            f'transform="rotate(-90 14 {num(middle)})" fill="{AXIS}">{escape(axis_label)}</text>'
        )
    add("</g>")

    add('<g class="trend__x-axis">')
    add(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{AXIS}"/>')
    # Every k-th bucket labelled, from the first, so that the labels keep an even rhythm.
    step = max(1, ceil(len(buckets) / layout.most_ticks))
    labelled = set(range(0, len(buckets), step))
    for index, bucket in enumerate(buckets):
        if index in labelled:
            add(
                f'<text x="{num(x(index))}" y="{bottom + 18}" text-anchor="middle" '
                f'fill="{AXIS}">{escape(bucket.label)}</text>'
            )
    add("</g>")

    # Each bucket's column holds its tooltip (hovered anywhere from the axis to the top); the
    # marks are drawn over the columns and let the pointer through to them.
    add('<g class="trend__buckets">')
    for index, bucket in enumerate(buckets):
        add(
            f'<g class="trend__bucket"><title>{escape(bucket.title)}</title>'
            f'<rect class="trend__hit" x="{num(left + band * index)}" y="{top}" '
            f'width="{num(band)}" height="{bottom - top}" fill="transparent"/></g>'
        )
    add("</g>")
    add('<g class="trend__marks" pointer-events="none">')
    if not bars:
        runs: list[list[int]] = [[]]
        for index, bucket in enumerate(buckets):
            if bucket.value is None:
                runs.append([])
            else:
                runs[-1].append(index)
        path = " ".join(
            "M" + " L".join(f"{num(x(i))},{num(y(buckets[i].value))}" for i in run)
            for run in runs
            if run
        )
        if path:
            add(
                f'<path class="trend__line" d="{path}" fill="none" stroke="{ACCENT}" '
                'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>'
            )
    width = max(band * 0.62, 1.0)
    radius = 4 if len(buckets) <= 60 else 2.5
    for index, bucket in enumerate(buckets):
        if bucket.value is None:
            add(
                f'<text class="trend__none" x="{num(x(index))}" y="{bottom - 6}" '
                f'text-anchor="middle" fill="{EMPTY}">–</text>'
            )
        elif bars:
            add(
                f'<rect class="trend__bar" x="{num(x(index) - width / 2)}" '
                f'y="{num(y(bucket.value))}" width="{num(width)}" '
                f'height="{num(bottom - y(bucket.value))}" fill="{ACCENT}" rx="2"/>'
            )
        else:
            add(
                f'<circle class="trend__point" cx="{num(x(index))}" cy="{num(y(bucket.value))}" '
                f'r="{radius}" fill="{ACCENT}" stroke="#fff" stroke-width="1.5"/>'
            )
    add("</g>")
    if not figures:
        add(
            f'<text class="trend__empty" x="{num((left + right) / 2)}" y="{num(middle)}" '
            f'text-anchor="middle" fill="{AXIS}">No data in this period</text>'
        )
    add("</svg>")
    # Every text above is escaped or made of numbers.
    return mark_safe("".join(out))


def _description(buckets: Sequence[Bucket]) -> str:
    shown = [b for b in buckets if b.value is not None]
    if not shown:
        return f"{len(buckets)} periods, none with data."
    return (
        f"{len(buckets)} periods, {len(shown)} with data; from {shown[0].title} to "
        f"{shown[-1].title}."
    )
