"""The pushed-measurements source: counts per window in one query, by each interval's end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reliability import evaluation, sources
from reliability.models import Alert, Measurement, SLOState

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def push(slo, *, ago: timedelta, good: int, total: int, length=timedelta(minutes=1)):
    """A measurement ending ``ago`` before ``NOW``."""
    end = NOW - ago
    return Measurement.objects.create(slo=slo, start=end - length, end=end, good=good, total=total)


def test_it_sums_each_window_in_one_query(make_slo, django_assert_num_queries):
    slo = make_slo()
    push(slo, ago=timedelta(minutes=1), good=90, total=100)
    push(slo, ago=timedelta(hours=2), good=1_000, total=1_000)
    push(slo, ago=timedelta(days=10), good=5_000, total=5_000)
    with django_assert_num_queries(1):
        readings = sources.windows_for(slo, NOW)
    assert readings == {
        "28d": (6_090, 6_100),
        "5m": (90, 100),
        "30m": (90, 100),
        "1h": (90, 100),
        "6h": (1_090, 1_100),
        "24h": (1_090, 1_100),
        "3d": (1_090, 1_100),
    }


def test_a_measurement_counts_by_its_end(make_slo):
    slo = make_slo()
    # [NOW - 70 min, NOW - 59 min): ends inside the last hour, so it counts there, whole.
    push(slo, ago=timedelta(minutes=59), good=0, total=10, length=timedelta(minutes=11))
    # Ends exactly an hour ago: outside the half-open hour (NOW - 1 h, NOW].
    push(slo, ago=timedelta(hours=1), good=0, total=7)
    readings = sources.windows_for(slo, NOW)
    assert readings["1h"] == (0, 10)
    assert readings["6h"] == (0, 17)


def test_measurements_ending_after_now_do_not_count_yet(make_slo):
    slo = make_slo()
    push(slo, ago=-timedelta(minutes=1), good=0, total=50)
    assert sources.windows_for(slo, NOW)["5m"] == (0, 0)


def test_measurements_older_than_the_window_do_not_count(make_slo):
    slo = make_slo(window_days=7)
    push(slo, ago=timedelta(days=8), good=0, total=50)
    push(slo, ago=timedelta(days=6), good=100, total=100)
    assert sources.windows_for(slo, NOW)["7d"] == (100, 100)


def test_a_short_slo_window_still_gets_a_3_day_burn_rate(make_slo):
    slo = make_slo(window_days=1)
    push(slo, ago=timedelta(days=2), good=0, total=50)
    readings = sources.windows_for(slo, NOW)
    assert (readings["1d"], readings["3d"]) == ((0, 0), (0, 50))


def test_another_slos_measurements_do_not_count(make_slo):
    slo, other = make_slo(), make_slo("latency")
    push(other, ago=timedelta(minutes=1), good=0, total=50)
    assert sources.windows_for(slo, NOW)["28d"] == (0, 0)


def _steady(slo, *, bad_per_minute: int, burst_minutes: int = 0, burst_bad: int = 0):
    """28 days of 1-minute measurements of 1,000 events, ``bad_per_minute`` failing (or
    ``burst_bad`` in the last ``burst_minutes``)."""
    rows = []
    for minute in range(28 * 24 * 60):
        bad = burst_bad if minute < burst_minutes else bad_per_minute
        end = NOW - timedelta(minutes=minute)
        rows.append(
            Measurement(
                slo=slo, start=end - timedelta(minutes=1), end=end, good=1_000 - bad, total=1_000
            )
        )
    Measurement.objects.bulk_create(rows, batch_size=5_000)


def test_a_burst_of_failures_pages(make_slo):
    # 99.9 %: 1 bad in 1,000 is a burn rate of 1; 20 bad in 1,000 for the last hour is 20×.
    slo = make_slo()
    _steady(slo, bad_per_minute=0, burst_minutes=60, burst_bad=20)
    slo = evaluation.evaluate(slo, now=NOW)
    assert slo.burn_rates["1h"] == pytest.approx(20)
    assert slo.burn_rates["6h"] == pytest.approx(20 / 6)
    assert slo.alert == Alert.PAGE
    # 20 × 60 bad of 40,320,000 against a budget of 40,320: 1,200 / 40,320 spent.
    assert slo.budget_remaining == pytest.approx(1 - 1_200 / 40_320)
    assert slo.state == SLOState.HEALTHY


def test_a_steady_burn_over_the_budget_is_exhausted(make_slo):
    slo = make_slo()
    _steady(slo, bad_per_minute=2)
    slo = evaluation.evaluate(slo, now=NOW)
    assert slo.budget_remaining == pytest.approx(-1)
    assert (slo.state, slo.alert) == (SLOState.EXHAUSTED, Alert.TICKET)


def test_a_quiet_hour_has_no_burn_rate(make_slo):
    slo = make_slo()
    push(slo, ago=timedelta(hours=3), good=999, total=1_000)
    slo = evaluation.evaluate(slo, now=NOW)
    assert slo.burn_rates["1h"] is None
    assert slo.burn_rates["6h"] == pytest.approx(1)
    assert slo.state == SLOState.EXHAUSTED  # exactly the whole budget spent


def test_no_measurements_is_no_data_and_not_a_failure(make_slo):
    slo = evaluation.evaluate(make_slo(), now=NOW)
    assert (slo.state, slo.last_error, slo.query_failures) == (
        SLOState.NO_DATA,
        "no events in the window",
        0,
    )


def test_zero_events_is_no_data(make_slo):
    slo = make_slo()
    push(slo, ago=timedelta(minutes=5), good=0, total=0)
    assert evaluation.evaluate(slo, now=NOW).state == SLOState.NO_DATA


def test_an_slo_window_equal_to_an_alert_window_is_read_once(make_slo):
    slo = make_slo(window_days=3)
    push(slo, ago=timedelta(days=2), good=90, total=100)
    push(slo, ago=timedelta(days=4), good=0, total=100)
    readings = sources.windows_for(slo, NOW)
    assert list(readings) == ["3d", "5m", "30m", "1h", "6h", "24h"]
    assert readings["3d"] == (90, 100)
