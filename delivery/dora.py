"""The four DORA keys, per day, per month or over a whole period, for all the teams a reader may
see, one team, or one service: SQL aggregates over the production changes and the incidents,
a fixed number of queries whatever the number of rows (no Python loop over rows).

Definitions (the README's "Delivery metrics" section says the same in users' words):

- **Periods and buckets.** Dates are calendar dates in ``settings.TIME_ZONE``; a period
  ``start..end`` covers both dates, ``[start 00:00, end + 1 day 00:00)`` local time. A daily
  bucket is a date; a monthly bucket a calendar month, dated on its first day and cut to the
  period; ``all`` is one bucket dated ``start``. Durations are true elapsed (UTC) time, across
  a DST switch too.
- **deployment_frequency**: the number of changes (``delivery.changes``) that finished in the
  bucket. GitLab's API answers the count per interval, and so does this one; a count is a true
  0 when nothing was deployed. The summary divides by the days: changes per day, "no data"
  (None) for a period without any change.
- **lead_time_for_changes**: the median lead time (first commit to production) in seconds of
  the bucket's changes with a known lead time; the page also shows the 90th percentile.
- **change_failure_rate**: failed changes / changes in the bucket, 0 to 1.
- **time_to_restore_service**: the median of ``resolved_at - opened_at`` in seconds of the
  incidents caused by a change (a deployment or a release named as cause) resolved in the
  bucket; open incidents are left out (the summary counts those open at the period's end). The
  page also shows the same over all incidents.

"Nothing to measure" is None, never 0 (except for the deployment count, above). Medians and
percentiles interpolate linearly between the closest ranks: PostgreSQL's ``percentile_cont``,
and on SQLite the same computed with window functions (``ROW_NUMBER``/``COUNT`` per bucket and
a weighted sum of the one or two rows around the rank).

Scope: ``team`` (a slug or a Team) keeps its changes and the incidents touching its services or
caused by its changes; ``service`` keeps the changes that touched it (``ChangeService``) and the
incidents naming it; neither keeps every team the reader may see. A team or service the reader
may not see is answered exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Aggregate, Count, DateField, F, FloatField, Func, Q, QuerySet, Value
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

from releases.models import Team
from releases.selectors import visible_team_q
from reliability.models import Service
from reliability.permissions import sees_every_service
from reliability.selectors import visible_services

from . import bands
from .bands import Band, DeploymentDays
from .models import ChangeService, Incident, ProductionChange
from .selectors import IncidentServices, team_incidents_q, teams_for_filter, visible_incident_q

# The GitLab DORA API's metrics, in its order; the page draws two more trends.
METRICS = (
    "deployment_frequency",
    "lead_time_for_changes",
    "time_to_restore_service",
    "change_failure_rate",
)
PAGE_METRICS = (*METRICS, "lead_time_p90", "time_to_restore_all")
INTERVALS = ("daily", "monthly", "all")
# The Delivery page's weekly trend too: ISO weeks (Monday to Sunday) dated on their Monday and
# cut to the period like months. Not an API interval (GitLab's API has none).
PAGE_INTERVALS = (*INTERVALS, "weekly")
# How long a period may be: a daily series at most 180 days, the others at most three years.
MAX_DAILY_DAYS = 180
MAX_YEARS = 3
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000
ROUND = 3  # decimals of the medians and percentiles (seconds)


# --- Periods -------------------------------------------------------------------------------------


def zone():
    return timezone.get_default_timezone()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def today() -> date:
    return timezone.localdate(timezone=zone())


def default_period(end: date | None = None) -> tuple[date, date]:
    """GitLab's defaults: up to today, from three months before."""
    end = end or today()
    return _months_before(end, 3), end


def limit_text(interval: str) -> str:
    if interval == "daily":
        return f"a daily series covers at most {MAX_DAILY_DAYS} days"
    return f"a {interval} series covers at most {MAX_YEARS} years"


def validate_metric(metric: Any, choices: tuple[str, ...] = METRICS) -> str:
    if metric not in choices:
        raise ValidationError(
            {"metric": f"Unknown metric “{metric}”: one of {', '.join(choices)}."}
        )
    return metric


def validate_interval(interval: Any, choices: tuple[str, ...] = INTERVALS) -> str:
    if interval not in choices:
        raise ValidationError(
            {"interval": f"Unknown interval “{interval}”: one of {', '.join(choices)}."}
        )
    return interval


def validate_period(start: date, end: date, interval: str = "all") -> None:
    """Refuse, naming the field, a period that ends before it starts, lies outside the years
    1900-9000, or is longer than ``interval`` allows (``limit_text``)."""
    validate_interval(interval, PAGE_INTERVALS)
    errors = {}
    for name, day in (("start_date", start), ("end_date", end)):
        if not isinstance(day, date) or isinstance(day, datetime):
            errors[name] = "Give a date as YYYY-MM-DD."
        elif not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            errors[name] = f"Give a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
    if errors:
        raise ValidationError(errors)
    if start > end:
        raise ValidationError(
            {"start_date": f"The start date {start} comes after the end date {end}."}
        )
    if interval == "daily":
        earliest = end - timedelta(days=MAX_DAILY_DAYS - 1)
    else:
        earliest = _years_before(end, MAX_YEARS) + timedelta(days=1)
    if start < earliest:
        raise ValidationError(
            {
                "start_date": f"The period is too long: {limit_text(interval)} (from "
                f"{earliest} at the earliest for an end date of {end})."
            }
        )


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in the local time zone, as aware datetimes."""
    tz = zone()
    since = timezone.make_aware(datetime.combine(start, time.min), tz)
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz)
    return since, until


def buckets(start: date, end: date, interval: str) -> list[tuple[date, int]]:
    """Each bucket's date and number of days (within the period), in order."""
    if interval == "all":
        return [(start, (end - start).days + 1)]
    if interval == "daily":
        return [(start + timedelta(days=n), 1) for n in range((end - start).days + 1)]
    if interval == "weekly":
        weeks = []
        monday = start - timedelta(days=start.weekday())
        while monday <= end:
            days = (min(monday + timedelta(days=6), end) - max(monday, start)).days + 1
            weeks.append((monday, days))
            monday += timedelta(days=7)
        return weeks
    out = []
    first = start.replace(day=1)
    while first <= end:
        following = (first + timedelta(days=32)).replace(day=1)
        days = (min(following - timedelta(days=1), end) - max(first, start)).days + 1
        out.append((first, days))
        first = following
    return out


# --- Scope: who, which team, which service -------------------------------------------------------


@dataclass
class Scope:
    """What a reader counts: ``changes`` (of ProductionChange, or of ChangeService for a
    service) and, built when first asked for, ``incidents``."""

    user: Any
    team: Team | None
    service: Service | None
    changes: QuerySet

    @cached_property
    def incidents(self) -> QuerySet:
        incidents = Incident.objects.filter(visible_incident_q(self.user))
        if self.team is not None:
            incidents = incidents.filter(team_incidents_q([self.team.pk]))
        if self.service is not None:
            naming = IncidentServices.objects.filter(service=self.service).values("incident_id")
            incidents = incidents.filter(pk__in=naming)
        return incidents.order_by()


def _lookup(queryset: QuerySet, value: Any, model: type, name: str):
    if isinstance(value, model):
        value = value.slug
    found = queryset.filter(slug=str(value)).first() if str(value) else None
    if found is None:
        # The same answer for one that does not exist and one the reader may not see.
        raise ValidationError(
            {name: f"Unknown {name} “{value}”: give the slug of a {name} you can see."}
        )
    return found


def resolve_scope(user, *, team: Team | str | None = None, service=None) -> Scope:
    """The changes and incidents ``user`` may count, of ``team`` and/or ``service`` (slugs or
    objects; empty: not filtered)."""
    team = _lookup(teams_for_filter(user), team, Team, "team") if team else None
    service = _lookup(visible_services(user), service, Service, "service") if service else None
    sees_all = sees_every_service(user)
    if service is not None:
        changes = ChangeService.objects.filter(service=service)
        if team is not None:
            changes = changes.filter(change__team=team)
        if not sees_all:
            changes = changes.filter(visible_team_q(user, "change__team"))
    else:
        changes = ProductionChange.objects.all()
        if team is not None:
            changes = changes.filter(team=team)
        if not sees_all:
            changes = changes.filter(visible_team_q(user, "team"))
    return Scope(user, team, service, changes.order_by())


# --- SQL -----------------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


class Seconds(Func):
    """``end - start`` in seconds, as a float (milliseconds exact)."""

    output_field = FloatField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _bucket(at: str, interval: str):
    if interval == "daily":
        return TruncDate(at, tzinfo=zone())
    if interval == "weekly":
        return TruncWeek(at, tzinfo=zone(), output_field=DateField())
    return TruncMonth(at, tzinfo=zone(), output_field=DateField())


def _day(value: Any) -> date | None:
    """A bucket's date, as the database gave it (SQLite: text)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _rank_weight(fraction: float) -> str:
    """SQL weight of row ``rn`` of ``n`` ranked values at the ``fraction`` percentile: linear
    interpolation between the closest ranks, like ``percentile_cont`` (exact rational rank)."""
    ratio = Fraction(fraction).limit_denominator(1000)
    rank = f"((n - 1) * {ratio.numerator}) / {float(ratio.denominator)!r}"
    return f"MAX(0, 1 - ABS(rn - 1 - {rank}))"


def _aggregate(
    queryset: QuerySet,
    *,
    at: str,
    interval: str,
    value=None,
    fractions: tuple[float, ...] = (),
    failed: bool = False,
    known: bool = False,
) -> dict[date | None, dict[str, Any]]:
    """Per bucket (None for ``all``): ``n`` rows, ``failed`` rows (with ``failed``), ``known``
    non-null values (with ``known``) and ``q0``, ``q1``… the ``fractions`` percentiles of
    ``value``. One query."""
    if fractions and connection.vendor != "postgresql":
        return _aggregate_by_windows(
            queryset, at=at, interval=interval, value=value, fractions=fractions, failed=failed
        )
    aggregates: dict[str, Any] = {"n": Count("pk")}
    if failed:
        aggregates["failed"] = Count("pk", filter=Q(failed=True))
    if known:
        aggregates["known"] = Count(value)
    if value is not None:
        for index, fraction in enumerate(fractions):
            aggregates[f"q{index}"] = PercentileCont(value, fraction=fraction)
    if interval == "all":
        return {None: queryset.aggregate(**aggregates)}
    rows = (
        queryset.annotate(bucket=_bucket(at, interval))
        .values("bucket")
        .annotate(**aggregates)
        .order_by()
    )
    return {_day(row.pop("bucket")): row for row in rows}


def _aggregate_by_windows(queryset, *, at, interval, value, fractions, failed):
    """``_aggregate`` for databases without ``percentile_cont`` (SQLite): the rows ranked per
    bucket by window functions, each percentile a weighted sum of the one or two rows at its
    rank, all in one statement."""
    bucket = Value(0) if interval == "all" else _bucket(at, interval)
    facts = (
        queryset.annotate(
            x_bucket=bucket,
            x_value=value,
            x_failed=F("failed") if failed else Value(False),
        )
        .values("x_bucket", "x_value", "x_failed")
        .order_by()
    )
    inner, params = facts.query.sql_with_params()
    percentiles = "".join(f", SUM(v * {_rank_weight(fraction)})" for fraction in fractions)
    sql = (
        f"SELECT b, COUNT(*), SUM(CASE WHEN f THEN 1 ELSE 0 END), COUNT(v){percentiles} "
        "FROM (SELECT x_bucket AS b, x_value AS v, x_failed AS f, "
        "ROW_NUMBER() OVER (PARTITION BY x_bucket ORDER BY x_value IS NULL, x_value) AS rn, "
        "COUNT(x_value) OVER (PARTITION BY x_bucket) AS n "
        f"FROM ({inner}) facts) ranked GROUP BY b"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = {}
    for row in rows:
        figures = {"n": row[1], "failed": row[2], "known": row[3]}
        figures.update({f"q{index}": row[4 + index] for index in range(len(fractions))})
        out[None if interval == "all" else _day(row[0])] = figures
    if interval == "all" and not out:
        out[None] = {"n": 0, "failed": 0, "known": 0}
        out[None].update({f"q{index}": None for index in range(len(fractions))})
    return out


def _rounded(number: float | None) -> float | None:
    return None if number is None else round(float(number), ROUND)


# --- The metrics ---------------------------------------------------------------------------------


def _changes(scope: Scope, since: datetime, until: datetime) -> QuerySet:
    return scope.changes.filter(finished_at__gte=since, finished_at__lt=until)


def _resolved(scope: Scope, since: datetime, until: datetime, *, caused: bool) -> QuerySet:
    incidents = scope.incidents.filter(resolved_at__gte=since, resolved_at__lt=until)
    if caused:
        incidents = incidents.filter(Q(deployment__isnull=False) | Q(release__isnull=False))
    return incidents


LEAD_TIME = F("lead_time_seconds")
RESTORE = Seconds("resolved_at", "opened_at")


# The keys read from the changes, with the percentile of lead time each needs (None: none).
CHANGE_METRICS = {
    "deployment_frequency": None,
    "change_failure_rate": None,
    "lead_time_for_changes": 0.5,
    "lead_time_p90": 0.9,
}
# The keys read from the incidents: caused by a change only, or all of them.
RESTORE_METRICS = {"time_to_restore_service": True, "time_to_restore_all": False}


def _reader(metric: str, fractions: tuple[float, ...]):
    """How to read ``metric``'s value from a bucket's row (None: no row for the bucket)."""
    if metric == "deployment_frequency":
        return lambda row: row["n"] if row else 0
    if metric == "change_failure_rate":
        return lambda row: row["failed"] / row["n"] if row and row["n"] else None
    fraction = CHANGE_METRICS.get(metric) or 0.5
    column = f"q{fractions.index(fraction)}"
    return lambda row: _rounded(row[column]) if row else None


def _metric_rows(metrics, scope: Scope, since: datetime, until: datetime, interval: str):
    """metric → (bucket rows, reader): one query for the keys of the changes, one for each
    kind of incidents asked for."""
    out = {}
    of_changes = [metric for metric in metrics if metric in CHANGE_METRICS]
    if of_changes:
        fractions = tuple(sorted({CHANGE_METRICS[m] for m in of_changes} - {None}))
        rows = _aggregate(
            _changes(scope, since, until),
            at="finished_at",
            interval=interval,
            value=LEAD_TIME if fractions else None,
            fractions=fractions,
            failed="change_failure_rate" in of_changes,
        )
        out.update({metric: (rows, _reader(metric, fractions)) for metric in of_changes})
    for metric, caused in RESTORE_METRICS.items():
        if metric in metrics:
            rows = _aggregate(
                _resolved(scope, since, until, caused=caused),
                at="resolved_at",
                interval=interval,
                value=RESTORE,
                fractions=(0.5,),
            )
            out[metric] = (rows, _reader(metric, (0.5,)))
    return out


def series_many(
    metrics,
    *,
    start: date,
    end: date,
    interval: str,
    user,
    team: Team | str | None = None,
    service: Service | str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``series`` of several ``metrics`` at once: metric → points, in at most three aggregate
    queries (the changes' keys together, then each kind of incidents)."""
    for metric in metrics:
        validate_metric(metric, PAGE_METRICS)
    validate_period(start, end, interval)
    scope = resolve_scope(user, team=team, service=service)
    since, until = bounds(start, end)
    found = _metric_rows(metrics, scope, since, until, interval)
    days = [day for day, _ in buckets(start, end, interval)]
    return {
        metric: [
            {"date": day, "value": read(rows.get(None if interval == "all" else day))}
            for day in days
        ]
        for metric, (rows, read) in found.items()
    }


def series(
    metric: str,
    *,
    start: date,
    end: date,
    interval: str,
    user,
    team: Team | str | None = None,
    service: Service | str | None = None,
) -> list[dict[str, Any]]:
    """``[{"date": date, "value": …}, …]``, one per bucket of the period (GitLab's shape):
    ``metric`` is one of ``METRICS`` (or ``PAGE_METRICS``). Deployment frequency counts (0
    without deployments); the others are None when there is nothing to measure. A bad metric,
    interval, period, team or service is a ``ValidationError`` naming the field."""
    return series_many(
        [metric], start=start, end=end, interval=interval, user=user, team=team, service=service
    )[metric]


@dataclass(frozen=True)
class Summary:
    """The four keys over a whole period, with their bands (``delivery.bands``)."""

    start: date
    end: date
    days: int
    team: Team | None
    service: Service | None
    deployments: int
    deployment_frequency: float | None  # changes per day; None: no change at all
    deployment_days: DeploymentDays
    lead_time_median: float | None  # seconds
    lead_time_p90: float | None
    lead_time_known: int  # changes with a known lead time
    failed: int
    change_failure_rate: float | None
    time_to_restore_median: float | None  # seconds, incidents caused by a change
    restored: int  # incidents caused by a change resolved in the period
    time_to_restore_all_median: float | None  # seconds, every incident
    restored_all: int
    open_incidents: int  # opened before the period's end and not resolved by then
    bands: dict[str, Band] = field(default_factory=dict)

    def band_input(self, metric: str) -> Any:
        return {
            "deployment_frequency": self.deployment_days,
            "lead_time_for_changes": self.lead_time_median,
            "change_failure_rate": self.change_failure_rate,
            "time_to_restore_service": self.time_to_restore_median,
        }[metric]


def summary(
    *,
    start: date,
    end: date,
    user,
    team: Team | str | None = None,
    service: Service | str | None = None,
) -> Summary:
    """The four keys of ``team``/``service`` (or every team ``user`` may see) over
    ``start..end`` (at most three years), in five queries after the scope's lookups."""
    validate_period(start, end, "all")
    scope = resolve_scope(user, team=team, service=service)
    since, until = bounds(start, end)
    changes = _changes(scope, since, until)
    totals = _aggregate(
        changes,
        at="finished_at",
        interval="all",
        value=LEAD_TIME,
        fractions=(0.5, 0.9),
        failed=True,
        known=True,
    )[None]
    days = changes.annotate(day=TruncDate("finished_at", tzinfo=zone())).values_list("day")
    deployment_days = DeploymentDays.of(start, end, (_day(d) for (d,) in days.distinct()))
    restore = {
        caused: _aggregate(
            _resolved(scope, since, until, caused=caused),
            at="resolved_at",
            interval="all",
            value=RESTORE,
            fractions=(0.5,),
        )[None]
        for caused in (True, False)
    }
    open_at_end = (
        scope.incidents.filter(opened_at__lt=until)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=until))
        .count()
    )
    n, length = totals["n"], (end - start).days + 1
    result = Summary(
        start=start,
        end=end,
        days=length,
        team=scope.team,
        service=scope.service,
        deployments=n,
        deployment_frequency=n / length if n else None,
        deployment_days=deployment_days,
        lead_time_median=_rounded(totals["q0"]),
        lead_time_p90=_rounded(totals["q1"]),
        lead_time_known=totals["known"] or 0,
        failed=totals["failed"] or 0,
        change_failure_rate=(totals["failed"] or 0) / n if n else None,
        time_to_restore_median=_rounded(restore[True]["q0"]),
        restored=restore[True]["n"],
        time_to_restore_all_median=_rounded(restore[False]["q0"]),
        restored_all=restore[False]["n"],
        open_incidents=open_at_end,
    )
    result.bands.update({metric: bands.band(metric, result) for metric in bands.METRICS})
    return result
