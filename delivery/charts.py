"""The Delivery page's trend charts: one per key, per week or month, drawn by the shared trend
chart (``relcal.charts.trend_svg``) twice, for a desk and for a phone, with a table of the exact
values under each.

Values are shown in the unit that reads best for the figures at hand: deployments a day;
lead time and time to restore in minutes, hours or days; the change failure rate in percent.
A bucket without anything to measure is a gap with "no data" in its tooltip, never a 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.formats import date_format
from django.utils.safestring import SafeString

from relcal import charts

from .wording import NO_DATA, count_text, duration_text, per_day_text, rate_text


@dataclass(frozen=True)
class Period:
    """One bucket of the trend: its date (a Monday, a month's first day) and the days of the
    period it covers."""

    day: date
    days: int
    first: date  # the first day it covers (the period's start for a cut bucket)

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.days - 1)


def periods(rows: Sequence[tuple[date, int]], start: date) -> list[Period]:
    return [Period(day, days, max(day, start)) for day, days in rows]


def period_name(period: Period, interval: str) -> str:
    """ "Week of 3 Mar 2025", "March 2025", or the days covered when cut: "5–9 Mar 2025"."""
    whole = 7 if interval == "weekly" else None
    if interval == "monthly":
        following = (period.day + timedelta(days=32)).replace(day=1)
        whole = (following - period.day).days
    if period.first == period.day and period.days == whole:
        if interval == "weekly":
            return f"Week of {date_format(period.day, 'j M Y')}"
        return date_format(period.day, "F Y")
    if period.first == period.last:
        return date_format(period.first, "j M Y")
    if period.first.month == period.last.month:
        return f"{period.first.day}–{date_format(period.last, 'j M Y')}"
    return f"{date_format(period.first, 'j M')}–{date_format(period.last, 'j M Y')}"


def axis_label(period: Period, interval: str, index: int) -> str:
    """The x axis: "3 Mar" per week; "Mar" per month, with the year on January and the first."""
    if interval == "weekly":
        return date_format(period.day, "j M")
    if index == 0 or period.day.month == 1:
        return date_format(period.day, "M Y")
    return date_format(period.day, "M")


@dataclass(frozen=True)
class Unit:
    """How a duration chart counts: seconds per unit, its name."""

    seconds: int
    name: str
    short: str


UNITS = [Unit(60, "minutes", "min"), Unit(3600, "hours", "h"), Unit(86400, "days", "d")]


def duration_unit(values: Sequence[float | None]) -> Unit:
    highest = max((v for v in values if v is not None), default=0.0)
    if highest < 2 * 3600:
        return UNITS[0]
    if highest < 72 * 3600:
        return UNITS[1]
    return UNITS[2]


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass
class Row:
    """One row of a chart's table of exact values."""

    period: str
    value: str
    detail: str = ""


@dataclass
class Trend:
    metric: str
    title: str
    wide: SafeString
    narrow: SafeString
    value_heading: str
    detail_heading: str
    rows: list[Row] = field(default_factory=list)


def _draw(
    *,
    metric: str,
    title: str,
    buckets: list[charts.Bucket],
    tick_text: Callable[[float], str],
    axis: str,
    bars: bool = False,
    highest: float | None = None,
) -> tuple[SafeString, SafeString]:
    drawing = {
        "buckets": buckets,
        "title": title,
        "tick_text": tick_text,
        "axis_label": axis,
        "bars": bars,
        "highest": highest,
    }
    return (
        charts.trend_svg(**drawing, chart_id=f"trend-{metric}", layout=charts.TREND_WIDE),
        charts.trend_svg(**drawing, chart_id=f"trend-{metric}-narrow", layout=charts.TREND_NARROW),
    )


def trends(
    *,
    interval: str,
    periods: list[Period],
    values: dict[str, list[float | int | None]],
    scope: str,
) -> list[Trend]:
    """The four trend charts. ``values`` holds each series' values in bucket order:
    deployment_frequency (counts), lead_time_for_changes and lead_time_p90 (seconds),
    change_failure_rate (a fraction), time_to_restore_service and time_to_restore_all
    (seconds)."""
    every = "week" if interval == "weekly" else "month"
    names = [period_name(p, interval) for p in periods]
    labels = [axis_label(p, interval, i) for i, p in enumerate(periods)]
    counts = [int(v or 0) for v in values["deployment_frequency"]]
    out = []

    # Deployment frequency: a day's share, so that a cut bucket compares with a whole one.
    per_day = [count / p.days for count, p in zip(counts, periods, strict=True)]
    texts = [
        f"{count_text(count, 'deployment')} ({per_day_text(rate)})"
        for count, rate in zip(counts, per_day, strict=True)
    ]
    title = f"Deployment frequency per {every}, {scope}"
    wide, narrow = _draw(
        metric="deployment_frequency",
        title=title,
        buckets=[
            charts.Bucket(label, rate, f"{name}: {text}")
            for label, rate, name, text in zip(labels, per_day, names, texts, strict=True)
        ],
        tick_text=_number,
        axis="deployments a day",
        bars=True,
    )
    out.append(
        Trend(
            "deployment_frequency",
            title,
            wide,
            narrow,
            "Deployments",
            "A day",
            [
                Row(name, str(count), per_day_text(rate))
                for name, count, rate in zip(names, counts, per_day, strict=True)
            ],
        )
    )

    # Lead time: the median, in the unit that reads best.
    medians, p90s = values["lead_time_for_changes"], values["lead_time_p90"]
    unit = duration_unit(medians)
    title = f"Median lead time for changes per {every}, {scope}"
    wide, narrow = _draw(
        metric="lead_time_for_changes",
        title=title,
        buckets=[
            charts.Bucket(
                label,
                None if median is None else median / unit.seconds,
                f"{name}: "
                + (
                    NO_DATA
                    if median is None
                    else f"median {duration_text(median)}, 90th percentile {duration_text(p90)}"
                ),
            )
            for label, median, p90, name in zip(labels, medians, p90s, names, strict=True)
        ],
        tick_text=lambda value: f"{_number(value)} {unit.short}",
        axis=f"median lead time ({unit.name})",
    )
    out.append(
        Trend(
            "lead_time_for_changes",
            title,
            wide,
            narrow,
            "Median",
            "90th percentile",
            [
                Row(name, duration_text(median), duration_text(p90) if median is not None else "")
                for name, median, p90 in zip(names, medians, p90s, strict=True)
            ],
        )
    )

    # Change failure rate, in percent, with the failed changes out of all.
    rates = values["change_failure_rate"]
    title = f"Change failure rate per {every}, {scope}"
    failed = [
        round(rate * count) if rate is not None else 0
        for rate, count in zip(rates, counts, strict=True)
    ]
    wide, narrow = _draw(
        metric="change_failure_rate",
        title=title,
        buckets=[
            charts.Bucket(
                label,
                None if rate is None else rate * 100,
                f"{name}: "
                + (NO_DATA if rate is None else f"{rate_text(rate)} ({bad} of {count} failed)"),
            )
            for label, rate, name, bad, count in zip(
                labels, rates, names, failed, counts, strict=True
            )
        ],
        tick_text=lambda value: f"{_number(value)}%",
        axis="failed changes (%)",
        highest=10.0,
    )
    out.append(
        Trend(
            "change_failure_rate",
            title,
            wide,
            narrow,
            "Rate",
            "Failed changes",
            [
                Row(name, rate_text(rate), f"{bad} of {count}" if rate is not None else "")
                for name, rate, bad, count in zip(names, rates, failed, counts, strict=True)
            ],
        )
    )

    # Time to restore: incidents caused by a change; all incidents in the tooltip and table.
    caused, every_incident = values["time_to_restore_service"], values["time_to_restore_all"]
    unit = duration_unit(caused)
    title = f"Median time to restore service per {every}, {scope}"
    wide, narrow = _draw(
        metric="time_to_restore_service",
        title=title,
        buckets=[
            charts.Bucket(
                label,
                None if median is None else median / unit.seconds,
                f"{name}: "
                + (
                    f"{NO_DATA} (no incident caused by a change resolved)"
                    if median is None
                    else f"median {duration_text(median)}"
                )
                + f"; all incidents {duration_text(overall)}",
            )
            for label, median, overall, name in zip(
                labels, caused, every_incident, names, strict=True
            )
        ],
        tick_text=lambda value: f"{_number(value)} {unit.short}",
        axis=f"median time to restore ({unit.name})",
    )
    out.append(
        Trend(
            "time_to_restore_service",
            title,
            wide,
            narrow,
            "Caused by a change",
            "All incidents",
            [
                Row(name, duration_text(median), duration_text(overall))
                for name, median, overall in zip(names, caused, every_incident, strict=True)
            ],
        )
    )
    return out
