"""An SLO's source read per window: good and total events (or an error ratio) over the alert
windows (``budget.WINDOWS``) and over the SLO's own window.

- Pushed measurements: ONE query for every window at once, reading each row of the longest
  window once through the ``(slo, end)`` index (see ``pushed``). A measurement counts in a
  window by its end: ``now - window < end <= now``, whole, even when it started before the
  window (a monitoring tool pushing 1-minute intervals makes that edge a minute wide at most).
  Measurements ending after ``now`` are not counted yet.
- Prometheus: an instant query at ``now`` per expression and window, the SLO's window first so
  that a server that is down costs one timeout, not fourteen. A window answering NaN as an
  error ratio (PromQL's 0/0) had no events.

Reading a source never opens a database transaction: ``reliability.evaluation`` calls it first
and stores the figures afterwards.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import connection

from . import prometheus
from .budget import WINDOW_MINUTES, WINDOWS, Reading, slo_window
from .models import SLO, Measurement, SLISource
from .prometheus import SourceError


def windows(slo: SLO) -> list[str]:
    """The window keys read for an SLO: its own window first, then ``WINDOWS``."""
    own = slo_window(slo.window_days)
    return [own, *(window for window in WINDOWS if window != own)]


def windows_for(slo: SLO, now: datetime) -> dict[str, Reading]:
    """Each window's reading: ``(good, total)``, or an error ratio (None: no events) for an SLO
    with an error-ratio expression. Raises ``prometheus.SourceError`` when Prometheus fails."""
    if slo.source == SLISource.PUSHED:
        return pushed(slo, now)
    return from_prometheus(slo, now)


def _delta(window: str) -> timedelta:
    if window in WINDOW_MINUTES:
        return timedelta(minutes=WINDOW_MINUTES[window])
    return timedelta(days=int(window.removesuffix("d")))


def pushed(slo: SLO, now: datetime) -> dict[str, tuple[int, int]]:
    """Good and total pushed events per window, in one query.

    The windows nest (all end at ``now``), so the query sums disjoint slices between
    consecutive window starts, each an index range of ``(slo, end)``, and each window adds up
    the slices it covers: every row is read once, as by a plain ``SUM`` over the longest
    window. (A conditional ``SUM(...) FILTER (WHERE end > ...)`` per window reads the rows once
    too, but pays a dozen filter checks on each: 2 to 3 times the plain aggregate's time.)
    """
    keys = windows(slo)
    deltas = sorted({_delta(key) for key in keys}, reverse=True)  # longest first
    starts = [now - delta for delta in deltas]
    slices = _slice_sums(slo.pk, starts, now)
    sums = {}
    for key in keys:
        first = deltas.index(_delta(key))
        good = sum(slices[index][0] for index in range(first, len(deltas)))
        total = sum(slices[index][1] for index in range(first, len(deltas)))
        sums[key] = (good, total)
    return sums


def _slice_sums(slo_id: int, starts: list[datetime], now: datetime) -> dict[int, tuple[int, int]]:
    """Good and total of the measurements ending in each slice ``(starts[i], starts[i + 1]]``
    (the last one up to ``now``), in one statement: a UNION ALL of range aggregates; on
    PostgreSQL a LATERAL join over the slices, which keeps the planner from starting parallel
    workers for seven small index scans."""
    ops = connection.ops
    meta = Measurement._meta
    table = ops.quote_name(meta.db_table)
    slo, end, good, total = (
        ops.quote_name(meta.get_field(name).column) for name in ("slo", "end", "good", "total")
    )
    bounds = [*starts[1:], now]
    adapt = ops.adapt_datetimefield_value
    if connection.vendor == "postgresql":
        rows = ", ".join(["(%s, %s::timestamptz, %s::timestamptz)"] * len(starts))
        sql = (
            f"SELECT w.i, s.good, s.total FROM (VALUES {rows}) AS w(i, after, until) "
            f"CROSS JOIN LATERAL (SELECT SUM({good}) AS good, SUM({total}) AS total "
            f"FROM {table} WHERE {slo} = %s AND {end} > w.after AND {end} <= w.until) AS s"
        )
        params: list = []
        for index, (start, bound) in enumerate(zip(starts, bounds, strict=True)):
            params += [index, adapt(start), adapt(bound)]
        params.append(slo_id)
    else:
        branch = (
            f"SELECT %s, SUM({good}), SUM({total}) FROM {table} "
            f"WHERE {slo} = %s AND {end} > %s AND {end} <= %s"
        )
        sql = " UNION ALL ".join([branch] * len(starts))
        params = []
        for index, (start, bound) in enumerate(zip(starts, bounds, strict=True)):
            params += [index, slo_id, adapt(start), adapt(bound)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {int(index): (int(g or 0), int(t or 0)) for index, g, t in cursor.fetchall()}
    return {index: found.get(index, (0, 0)) for index in range(len(starts))}


def from_prometheus(slo: SLO, now: datetime, *, timeout: float | None = None) -> dict[str, Reading]:
    """Good and total events (their rates: only the ratio matters) or the error ratio, per
    window, from the SLO's Prometheus server."""
    base_url = prometheus.server_url(slo)
    readings: dict[str, Reading] = {}
    for window in windows(slo):
        if slo.error_ratio_query:
            value = _ask(base_url, slo.error_ratio_query, window, now, timeout, "error ratio")
            readings[window] = None if math.isnan(value) else value
            continue
        good = _ask(base_url, slo.good_query, window, now, timeout, "good events")
        total = _ask(base_url, slo.total_query, window, now, timeout, "total events")
        for name, value in (("good events", good), ("total events", total)):
            if math.isnan(value):
                raise SourceError(f"the {name} query returned NaN over {window}")
            if value < 0:
                raise SourceError(f"the {name} query returned a negative number over {window}")
        # Good and total come from two queries: a scrape between them can make good exceed
        # total by a hair.
        readings[window] = (min(good, total), total)
    return readings


def _ask(
    base_url: str,
    expression: str,
    window: str,
    now: datetime,
    timeout: float | None,
    name: str,
) -> float:
    if not expression:
        raise SourceError(f"the SLO has no {name} expression")
    try:
        return prometheus.query(
            base_url, prometheus.with_window(expression, window), timeout=timeout, at=now
        )
    except prometheus.Unreachable:
        raise
    except SourceError as error:
        raise type(error)(f"{error.message} ({name}, over {window})") from None
