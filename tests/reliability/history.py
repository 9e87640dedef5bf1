"""Deterministic request counters for a backfilled Prometheus (tests and bench/slo.py).

``requests_history(service, end=..., total=100, errors=0.01, bursts=[(timedelta(hours=1), 2)])``
gives the two series of ``http_requests_total{service=...}`` (``code="200"`` and ``code="500"``)
from ``end - span`` to ``end``: ``total`` requests a second, ``errors`` of them failing, or the
burst's error rate in the last ``timedelta`` before ``end``. Samples every 5 minutes up to a
day before ``end`` and every minute in the last day, so that 5-minute windows have data while a
28-day history stays small.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

END = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=29)
RECENT = timedelta(days=1)
COARSE = timedelta(minutes=5)
FINE = timedelta(minutes=1)

GOOD = 'sum(rate(http_requests_total{{service="{service}",code!~"5.."}}[$window]))'
TOTAL = 'sum(rate(http_requests_total{{service="{service}"}}[$window]))'
RATIO = (
    'sum(rate(http_requests_total{{service="{service}",code=~"5.."}}[$window]))'
    ' / sum(rate(http_requests_total{{service="{service}"}}[$window]))'
)


def _moments(end: datetime, span: timedelta, coarse: timedelta) -> list[datetime]:
    moments, moment = [], end - span
    while moment <= end:
        moments.append(moment)
        moment += coarse if moment < end - RECENT else FINE
    return moments


def requests_history(
    service: str,
    *,
    end: datetime = END,
    span: timedelta = SPAN,
    total: float = 100.0,
    errors: float = 0.0,
    bursts: Iterable[tuple[timedelta, float]] = (),
    coarse: timedelta = COARSE,
) -> dict[str, list[tuple[datetime, float]]]:
    """The good (200) and bad (500) counters of ``service``; later bursts of shorter spans win.
    Samples every ``coarse`` until a day before ``end``, then every minute."""
    bursts = sorted(bursts, key=lambda pair: pair[0], reverse=True)

    def error_rate(moment: datetime) -> float:
        rate = errors
        for last, burst in bursts:
            if moment >= end - last:
                rate = burst
        return rate

    good_series, bad_series = [], []
    good = bad = 0.0
    moments = _moments(end, span, coarse)
    for index, moment in enumerate(moments):
        good_series.append((moment, good))
        bad_series.append((moment, bad))
        if index + 1 < len(moments):
            seconds = (moments[index + 1] - moment).total_seconds()
            rate = error_rate(moment)
            good += (total - rate) * seconds
            bad += rate * seconds
    return {
        f'http_requests_total{{service="{service}",code="200"}}': good_series,
        f'http_requests_total{{service="{service}",code="500"}}': bad_series,
    }


def queries(service: str) -> dict[str, str]:
    """The good and total expressions of ``service``'s availability SLO."""
    return {
        "good_query": GOOD.format(service=service),
        "total_query": TOTAL.format(service=service),
    }


def ratio_query(service: str) -> str:
    return RATIO.format(service=service)
