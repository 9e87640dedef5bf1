"""The performance bands: the 2021 DORA report's thresholds with their gaps closed, and the
Four Keys rule for deployment frequency."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from delivery.bands import Band, DeploymentDays, band, frequency_rule

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400
SIX_MONTHS = 6 * 730 * HOUR


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (59 * MINUTE, Band.ELITE),
        (HOUR, Band.HIGH),  # "less than one hour" is elite; an hour is not
        (5 * HOUR, Band.HIGH),  # between elite and high in the report: the worse, high
        (WEEK, Band.HIGH),
        (WEEK + 1, Band.MEDIUM),  # a week to a month: the gap, medium
        (SIX_MONTHS, Band.MEDIUM),
        (SIX_MONTHS + 1, Band.LOW),
    ],
    ids=["59m", "1h", "5h", "1w", "1w+1s", "6mo", "6mo+1s"],
)
def test_lead_time_bands(seconds, expected):
    assert band("lead_time_for_changes", seconds) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (59 * MINUTE, Band.ELITE),
        (HOUR, Band.HIGH),
        (DAY - 1, Band.HIGH),
        (DAY, Band.MEDIUM),
        (WEEK, Band.MEDIUM),
        (WEEK + 1, Band.LOW),  # a week to six months: the gap, low
    ],
    ids=["59m", "1h", "1d-1s", "1d", "1w", "1w+1s"],
)
def test_time_to_restore_bands(seconds, expected):
    assert band("time_to_restore_service", seconds) == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (0.0, Band.ELITE),
        (0.15, Band.ELITE),
        (0.155, Band.HIGH),
        (0.30, Band.HIGH),  # 16-30% is high, medium and low in the report: the best, high
        (0.31, Band.LOW),
        (1.0, Band.LOW),
    ],
    ids=["0", "15%", "15.5%", "30%", "31%", "100%"],
)
def test_change_failure_rate_bands(rate, expected):
    assert band("change_failure_rate", rate) == expected


@pytest.mark.parametrize(
    "metric",
    ["lead_time_for_changes", "time_to_restore_service", "change_failure_rate"],
)
def test_nothing_to_measure_is_no_data(metric):
    assert band(metric, None) == Band.NO_DATA
    assert Band.NO_DATA.label == "No data"


def test_an_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="deployment_frequency"):
        band("mean_time_to_recovery", 10)


# --- Deployment frequency: the Four Keys rule over twelve ISO weeks ------------------------------

MONDAY = date(2026, 1, 5)  # twelve weeks: 5 January to 29 March 2026


def days(*offsets: int) -> DeploymentDays:
    end = MONDAY + timedelta(weeks=12, days=-1)
    return DeploymentDays.of(MONDAY, end, [MONDAY + timedelta(days=n) for n in offsets])


def every_week(*weekdays: int) -> DeploymentDays:
    return days(*(7 * week + day for week in range(12) for day in weekdays))


def test_three_deployment_days_in_the_median_week_is_daily_elite():
    assert band("deployment_frequency", every_week(0, 2, 4)) == Band.ELITE


def test_two_deployment_days_a_week_is_weekly_high():
    assert frequency_rule(every_week(1, 3))["days_per_week"] == 2
    assert band("deployment_frequency", every_week(1, 3)) == Band.HIGH


def test_a_deployment_every_third_week_is_monthly_medium():
    # Weeks 1, 4, 7 and 10: January's weeks count 2, February's and March's 1 each.
    every_third = days(0, 21, 42, 63)
    assert frequency_rule(every_third) == {
        "days_per_week": 0,
        "weeks_deployed": 0,
        "monthly_deploys": 1,
    }
    assert band("deployment_frequency", every_third) == Band.MEDIUM


def test_one_deployment_in_a_quarter_is_yearly_low():
    assert band("deployment_frequency", days(0)) == Band.LOW


def test_a_period_without_deployments_has_no_frequency_band():
    assert band("deployment_frequency", days()) == Band.NO_DATA


def test_the_deployment_days_outside_the_period_do_not_count():
    outside = DeploymentDays.of(MONDAY, MONDAY, [MONDAY - timedelta(days=1)])
    assert band("deployment_frequency", outside) == Band.NO_DATA
