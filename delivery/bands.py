"""Performance bands of the four DORA keys: elite, high, medium, low (or "no data").

Source: the 2021 Accelerate State of DevOps report (DORA / Google Cloud, "Software delivery
performance" table; https://dora.dev/research/2021/dora-report/), the last report with four
clusters and ranges for every key; and, for deployment frequency, the rule of the Four Keys
dashboard (GoogleCloudPlatform/fourkeys, now dora-team/fourkeys,
``dashboard/fourkeys_dashboard.json``, panel "Deployment Frequency").

The report's table, as published (elite / high / medium / low):

- deployment frequency: on demand (multiple deploys per day) / between once per week and once
  per month / between once per month and once every six months / fewer than once per six
  months;
- lead time for changes: less than one hour / between one day and one week / between one
  month and six months / more than six months;
- time to restore service: less than one hour / less than one day / between one day and one
  week / more than six months;
- change failure rate: 0-15% / 16-30% / 16-30% / 16-30%.

Its ranges leave gaps (lead time between one hour and one day, or one week and one month; time
to restore between one week and six months; a rate between 15% and 16%). They are closed here
by each band's upper limit: a value belongs to the best band whose upper limit it does not
pass, so a value in a gap takes the worse of its two neighbours (five hours of lead time is
high, two weeks medium; three weeks to restore is low). Change failure rates from 16% to 30%
are shared by high, medium and low in the report: such a rate is as good as a high performer's
and gets high; above 30% is worse than every cluster's range and gets low; medium is never
given for this key. A month is 730 hours (a twelfth of 365 days, as the Four Keys dashboard
counts it), six months 4,380 hours.

Deployment frequency follows the Four Keys rule (their "Daily / Weekly / Monthly / Yearly"),
over the days of the period (local calendar dates, ``settings.TIME_ZONE``), grouped into
ISO weeks (Monday to Sunday; the weeks at the ends of the period may be partial) and months:

- **daily → elite** when the median number of days with a deployment per week is at least 3;
- **weekly → high** when the median week has a deployment (median of 1/0 per week ≥ 1, so more
  than half of the weeks);
- **monthly → medium** when the median, over the weeks, of the number of weeks with a
  deployment in the week's month (the month of its Monday) is at least 1;
- **yearly → low** otherwise; a period without any deployment is "no data", not low.

Medians interpolate between the two middle values, like ``PERCENTILE_CONT(x, 0.5)``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import models

CITATION = (
    "2021 Accelerate State of DevOps report (DORA, Google Cloud), software delivery performance "
    "table; deployment frequency by the Four Keys dashboard rule (dora-team/fourkeys)"
)
REPORT_URL = "https://dora.dev/research/2021/dora-report/"
FOUR_KEYS_URL = "https://github.com/dora-team/fourkeys/blob/main/dashboard/fourkeys_dashboard.json"

HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 730 * HOUR
SIX_MONTHS = 6 * MONTH


class Band(models.TextChoices):
    ELITE = "elite", "Elite"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    NO_DATA = "no_data", "No data"


# metric -> (band, upper limit, inclusive) from best to worst; past the last limit: low.
# Seconds for the durations, a fraction for the failure rate.
LIMITS: dict[str, list[tuple[Band, float, bool]]] = {
    "lead_time_for_changes": [
        (Band.ELITE, HOUR, False),  # less than one hour
        (Band.HIGH, WEEK, True),  # one day to one week (one hour to a day: the gap, high)
        (Band.MEDIUM, SIX_MONTHS, True),  # one month to six months (gap from a week: medium)
    ],
    "time_to_restore_service": [
        (Band.ELITE, HOUR, False),  # less than one hour
        (Band.HIGH, DAY, False),  # less than one day
        (Band.MEDIUM, WEEK, True),  # one day to one week (a week to six months: the gap, low)
    ],
    "change_failure_rate": [
        (Band.ELITE, 0.15, True),  # 0-15%
        (Band.HIGH, 0.30, True),  # 16-30%, shared with medium and low: the best of them
    ],
}

# What each band means, in the report's words (pages and the README show them).
THRESHOLDS: dict[str, dict[Band, str]] = {
    "deployment_frequency": {
        Band.ELITE: "daily: a deployment on 3 or more days of the median week",
        Band.HIGH: "weekly: a deployment in most weeks",
        Band.MEDIUM: "monthly: a deployment in most months",
        Band.LOW: "yearly: less often",
    },
    "lead_time_for_changes": {
        Band.ELITE: "less than one hour",
        Band.HIGH: "one hour to one week",
        Band.MEDIUM: "one week to six months",
        Band.LOW: "more than six months",
    },
    "change_failure_rate": {
        Band.ELITE: "15% or less",
        Band.HIGH: "above 15%, up to 30%",
        Band.LOW: "more than 30%",
    },
    "time_to_restore_service": {
        Band.ELITE: "less than one hour",
        Band.HIGH: "less than one day",
        Band.MEDIUM: "one day to one week",
        Band.LOW: "more than one week",
    },
}

METRICS = tuple(THRESHOLDS)


@dataclass(frozen=True)
class DeploymentDays:
    """The local dates of ``[start, end]`` on which at least one change reached production."""

    start: date
    end: date
    days: frozenset[date]

    @classmethod
    def of(cls, start: date, end: date, days: Iterable[date]) -> DeploymentDays:
        return cls(start, end, frozenset(day for day in days if start <= day <= end))


def frequency_rule(deployment_days: DeploymentDays) -> dict[str, float]:
    """The Four Keys medians: deployment days per week, weeks with a deployment (1/0), and
    weeks with a deployment in the week's month, each over the period's (ISO) weeks."""
    days_in_week: dict[date, int] = defaultdict(int)
    day = deployment_days.start
    while day <= deployment_days.end:
        monday = day - timedelta(days=day.weekday())
        days_in_week[monday] += day in deployment_days.days
        day += timedelta(days=1)
    weeks = sorted(days_in_week)
    deployed = {week: 1 if days_in_week[week] else 0 for week in weeks}
    per_month: dict[tuple[int, int], int] = defaultdict(int)
    for week in weeks:
        per_month[(week.year, week.month)] += deployed[week]
    return {
        "days_per_week": statistics.median(days_in_week[week] for week in weeks),
        "weeks_deployed": statistics.median(deployed.values()),
        "monthly_deploys": statistics.median(per_month[(w.year, w.month)] for w in weeks),
    }


def _frequency_band(deployment_days: DeploymentDays) -> Band:
    if not deployment_days.days:
        return Band.NO_DATA
    rule = frequency_rule(deployment_days)
    if rule["days_per_week"] >= 3:
        return Band.ELITE
    if rule["weeks_deployed"] >= 1:
        return Band.HIGH
    if rule["monthly_deploys"] >= 1:
        return Band.MEDIUM
    return Band.LOW


def band(metric: str, value_or_summary: Any) -> Band:
    """The band of ``metric`` for a value (seconds for lead time and time to restore, a
    fraction for the change failure rate, ``DeploymentDays`` for deployment frequency; None:
    no data) or for a ``delivery.dora.Summary`` (its figures over the whole period)."""
    if metric not in THRESHOLDS:
        raise ValueError(f"Unknown metric {metric!r}: one of {', '.join(METRICS)}.")
    value = value_or_summary
    if hasattr(value, "band_input"):
        value = value.band_input(metric)
    if value is None:
        return Band.NO_DATA
    if metric == "deployment_frequency":
        if not isinstance(value, DeploymentDays):
            raise TypeError("The deployment frequency band needs the deployment days.")
        return _frequency_band(value)
    for result, limit, inclusive in LIMITS[metric]:
        if value < limit or (inclusive and value == limit):
            return result
    return Band.LOW
