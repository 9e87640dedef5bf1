"""Error-budget arithmetic against hand-computed cases, including the SRE workbook's."""

from __future__ import annotations

import pytest

from reliability import budget
from reliability.models import Alert, SLOState

QUIET = dict.fromkeys(budget.WINDOWS, 0.0)


def test_the_error_budget_is_what_the_objective_leaves():
    assert budget.error_budget(0.999) == pytest.approx(0.001)


def test_the_sli_is_good_over_total():
    assert budget.sli(999_000, 1_000_000) == pytest.approx(0.999)


def test_a_window_without_events_has_no_sli():
    assert budget.sli(0, 0) is None


@pytest.mark.parametrize(
    ("sli", "remaining"),
    [
        pytest.param(1.0, 1.0, id="no-errors-whole-budget"),
        pytest.param(0.9995, 0.5, id="half-the-errors-allowed"),
        pytest.param(0.999, 0.0, id="exactly-spent"),
        pytest.param(0.998, -1.0, id="twice-overspent"),
    ],
)
def test_budget_remaining_at_99_9(sli, remaining):
    # 1 - (1 - SLI) / (1 - 0.999)
    assert budget.budget_remaining(sli, 0.999) == pytest.approx(remaining)


def test_a_whole_30_day_budget_at_99_9_is_43_2_minutes_of_outage():
    # 0.001 × 30 × 1,440 minutes
    assert budget.budget_minutes(1.0, 0.999, 30) == pytest.approx(43.2)


def test_the_minutes_shrink_with_the_budget():
    # A quarter left of a 28-day 99.5 % budget: 0.25 × 0.005 × 40,320 = 50.4 minutes.
    assert budget.budget_minutes(0.25, 0.995, 28) == pytest.approx(50.4)


def test_an_overspent_budget_is_negative_minutes():
    assert budget.budget_minutes(-0.5, 0.999, 30) == pytest.approx(-21.6)


def test_the_burn_rate_is_the_error_ratio_over_the_budget():
    # 2 % of requests failing against a 0.1 % budget: 20 times the sustainable rate.
    assert budget.burn_rate(0.02, 0.999) == pytest.approx(20)


def test_a_window_without_events_has_no_burn_rate():
    assert budget.burn_rate(budget.error_ratio(0, 0), 0.999) is None


def test_the_burn_rate_of_the_workbook_threshold_is_exact():
    # 0.0144 / (1 - 0.999) is 14.399999999999986 in floating point without rounding.
    assert budget.burn_rate(0.0144, 0.999) == 14.4


@pytest.mark.parametrize(
    ("rate", "hours", "consumed"),
    [
        pytest.param(14.4, 1, 0.02, id="14.4x-for-1h-is-2pct"),
        pytest.param(6, 6, 0.05, id="6x-for-6h-is-5pct"),
        pytest.param(1, 72, 0.10, id="1x-for-3d-is-10pct"),
    ],
)
def test_the_workbooks_budget_consumption_over_30_days(rate, hours, consumed):
    assert budget.budget_consumed(rate, hours * 60, 30) == pytest.approx(consumed)


def test_the_workbooks_page_burn_over_an_hour_takes_2_percent_from_the_sli():
    # 99.9 % over 30 days; one hour at 14.4× among 719 clean hours.
    sli = 1 - 14.4 * 0.001 * 1 / 720
    assert budget.budget_remaining(sli, 0.999) == pytest.approx(0.98)


def _rates(**rates):
    return {**QUIET, **{key.removeprefix("w"): value for key, value in rates.items()}}


@pytest.mark.parametrize(
    ("rates", "alert"),
    [
        pytest.param(_rates(w1h=15, w5m=15), Alert.PAGE, id="fast-burn-both-windows"),
        pytest.param(_rates(w1h=15, w5m=1), Alert.NONE, id="fast-burn-already-over"),
        pytest.param(_rates(w1h=1, w5m=15), Alert.NONE, id="fast-burn-only-a-spike"),
        pytest.param(_rates(w1h=14.4, w5m=14.4), Alert.NONE, id="exactly-14.4-does-not-page"),
        pytest.param(_rates(w6h=6.5, w30m=6.5), Alert.PAGE, id="slow-burn-both-windows"),
        pytest.param(_rates(w6h=6.5, w30m=5), Alert.NONE, id="slow-burn-recovered"),
        pytest.param(_rates(w3d=1.2), Alert.TICKET, id="ticket-over-3-days"),
        pytest.param(_rates(w3d=1.0), Alert.NONE, id="exactly-1-is-sustainable"),
        pytest.param(_rates(w3d=2, w1h=20, w5m=20), Alert.PAGE, id="page-wins-over-ticket"),
        pytest.param(dict.fromkeys(budget.WINDOWS), Alert.NONE, id="no-events-anywhere"),
    ],
)
def test_the_multiwindow_multi_burn_rate_alert(rates, alert):
    assert budget.alert_for(rates) == alert


@pytest.mark.parametrize(
    ("remaining", "state"),
    [
        pytest.param(0.9, SLOState.HEALTHY, id="healthy"),
        pytest.param(0.25, SLOState.HEALTHY, id="at-the-threshold-is-healthy"),
        pytest.param(0.2, SLOState.AT_RISK, id="at-risk"),
        pytest.param(0.0, SLOState.EXHAUSTED, id="zero-is-exhausted"),
        pytest.param(-0.4, SLOState.EXHAUSTED, id="overspent"),
        pytest.param(None, SLOState.NO_DATA, id="no-data"),
    ],
)
def test_the_state_follows_the_budget_left(remaining, state):
    assert budget.state_for(remaining, 0.25) == state


def test_figures_from_counts():
    # 28 days at 99.9 %: 1,000,000 events with 500 bad over the window, 2 % bad in the last hour.
    readings = {
        "28d": (999_500, 1_000_000),
        "5m": (980, 1_000),
        "30m": (5_880, 6_000),
        "1h": (11_760, 12_000),
        "6h": (71_000, 72_000),
        "24h": (287_000, 288_000),
        "3d": (863_000, 864_000),
    }
    figures = budget.figures(readings, objective=0.999, window_days=28, at_risk_below=0.25)
    assert figures.sli == pytest.approx(0.9995)
    assert figures.budget_remaining == pytest.approx(0.5)
    assert figures.burn_rates["1h"] == pytest.approx(20)
    assert figures.burn_rates["6h"] == pytest.approx(1000 / 72_000 / 0.001)
    assert (figures.state, figures.alert) == (SLOState.HEALTHY, Alert.PAGE)


def test_figures_from_error_ratios():
    readings = {"28d": 0.0008, **dict.fromkeys(budget.WINDOWS, 0.0001)}
    figures = budget.figures(readings, objective=0.999, window_days=28, at_risk_below=0.25)
    assert figures.budget_remaining == pytest.approx(0.2)
    assert figures.burn_rates["3d"] == pytest.approx(0.1)
    assert (figures.state, figures.alert) == (SLOState.AT_RISK, Alert.NONE)


def test_a_quiet_short_window_has_no_burn_rate_but_the_slo_is_evaluated():
    readings = {"28d": (999_900, 1_000_000), "5m": (0, 0), "30m": (0, 0)}
    figures = budget.figures(readings, objective=0.999, window_days=28, at_risk_below=0.25)
    assert figures.burn_rates["5m"] is None
    assert figures.state == SLOState.HEALTHY


def test_no_events_over_the_window_is_no_data_and_says_so():
    readings = {"28d": (0, 0), **dict.fromkeys(budget.WINDOWS, (0, 0))}
    figures = budget.figures(readings, objective=0.999, window_days=28, at_risk_below=0.25)
    assert (figures.state, figures.sli, figures.reason) == (
        SLOState.NO_DATA,
        None,
        "no events in the window",
    )


def test_an_error_ratio_of_nan_reads_as_no_events():
    figures = budget.figures({"28d": None}, objective=0.999, window_days=28, at_risk_below=0.25)
    assert figures.state == SLOState.NO_DATA
