"""The four keys: series per day, month or period, the summary with its bands, the scope (team,
service, what a reader may see), local dates across a DST change, and bad periods.

The organisation of ``org`` (June 2026, UTC; lead time in hours, first commit to finish):

========  =======  ===========  ====  ============================================
change    team     finished     lead  what happened
========  =======  ===========  ====  ============================================
P1        Payments 1 Jun 10:00  1
P2        Payments 1 Jun 15:00  2     caused I3 (opened 1 Jun 16:00, still open)
P3        Payments 3 Jun 10:00  3     rolled back at 12:00
P4        Payments 10 Jun 10:00 4     caused I1 (opened 11:00, resolved 13:00: 2 h)
P5        Payments 10 Jun 12:00 -     no build: no lead time
S1        Search   2 Jun 10:00  10
L1        Ledger   5 Jun 10:00  1     a private team
========  =======  ===========  ====  ============================================

I2 names search-api without a cause: opened 2 Jun 12:00, resolved 12:30 (30 min).
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery import dora
from delivery.bands import Band
from delivery.dora import series, summary
from environments.models import Environment

from .conftest import at

pytestmark = pytest.mark.django_db

JUNE_1, JUNE_10 = date(2026, 6, 1), date(2026, 6, 10)
HOUR = 3600


@pytest.fixture
def org(
    deploy,
    roll_back,
    make_release,
    make_incident,
    payments,
    search,
    ledger,
    checkout,
    search_api,
    ledger_core,
):
    pay, find, books = (make_release(team=t) for t in (payments, search, ledger))
    p1 = deploy(pay, at(6, 1, 10), lead=1)
    p2 = deploy(pay, at(6, 1, 15), lead=2)
    p3 = deploy(pay, at(6, 3, 10), lead=3)
    roll_back(p3, at(6, 3, 12))
    p4 = deploy(pay, at(6, 10, 10), lead=4)
    p5 = deploy(pay, at(6, 10, 12))
    s1 = deploy(find, at(6, 2, 10), lead=10)
    l1 = deploy(books, at(6, 5, 10), lead=1)
    i1 = make_incident([checkout], at(6, 10, 11), at(6, 10, 13), deployment=p4)
    i2 = make_incident([search_api], at(6, 2, 12), at(6, 2, 12, 30))
    i3 = make_incident([checkout], at(6, 1, 16), deployment=p2)
    make_incident([ledger_core], at(6, 5, 11), at(6, 5, 12), deployment=l1)
    return {"p1": p1, "p5": p5, "s1": s1, "i1": i1, "i2": i2, "i3": i3}


def values(points):
    return [point["value"] for point in points]


def june(metric, user, interval="daily", **scope):
    return series(metric, start=JUNE_1, end=JUNE_10, interval=interval, user=user, **scope)


# --- Series --------------------------------------------------------------------------------------


def test_deployment_frequency_counts_each_day_with_a_true_zero(org, alice):
    points = june("deployment_frequency", alice, team="payments")
    assert [p["date"] for p in points] == [date(2026, 6, d) for d in range(1, 11)]
    assert values(points) == [2, 0, 1, 0, 0, 0, 0, 0, 0, 2]


def test_lead_time_is_the_median_per_day_and_no_data_without_changes(org, alice):
    points = june("lead_time_for_changes", alice, team="payments")
    # 1 June: 1 h and 2 h; 10 June: 4 h (P5 has no build).
    assert values(points) == [1.5 * HOUR, None, 3 * HOUR, *[None] * 6, 4 * HOUR]


def test_lead_time_over_the_period_interpolates_like_percentile_cont(org, alice):
    (median,) = values(june("lead_time_for_changes", alice, "all", team="payments"))
    (p90,) = values(june("lead_time_p90", alice, "all", team="payments"))
    assert median == 2.5 * HOUR  # between 2 h and 3 h
    assert p90 == 3.7 * HOUR  # rank 2.7 of 0..3: 3 h + 0.7 × (4 h - 3 h)


def test_change_failure_rate_counts_incidents_and_rollbacks(org, alice):
    points = june("change_failure_rate", alice, team="payments")
    # 1 June: P2 caused an incident; 3 June: P3 rolled back; 10 June: P4 caused one.
    assert values(points) == [0.5, None, 1.0, *[None] * 6, 0.5]
    assert values(june("change_failure_rate", alice, "all", team="payments")) == [0.6]


def test_time_to_restore_counts_resolved_incidents_caused_by_a_change(org, alice):
    points = june("time_to_restore_service", alice, "all")
    assert points == [{"date": JUNE_1, "value": 2 * HOUR}]  # I1; I3 is open, I2 has no cause
    every = june("time_to_restore_all", alice, "all")
    assert values(every) == [(2 * HOUR + 0.5 * HOUR) / 2]  # I1 and I2


def test_monthly_buckets_are_dated_on_the_first_and_cut_to_the_period(org, alice):
    points = series(
        "deployment_frequency",
        start=date(2026, 5, 20),
        end=JUNE_10,
        interval="monthly",
        user=alice,
        team="payments",
    )
    assert points == [{"date": date(2026, 5, 1), "value": 0}, {"date": JUNE_1, "value": 5}]
    assert dora.buckets(date(2026, 5, 20), JUNE_10, "monthly") == [
        (date(2026, 5, 1), 12),
        (JUNE_1, 10),
    ]


def test_a_period_without_deployments_has_no_data(org, alice):
    july = {"start": date(2026, 7, 1), "end": date(2026, 7, 31), "user": alice}
    assert series("deployment_frequency", interval="all", **july) == [
        {"date": date(2026, 7, 1), "value": 0}
    ]
    for metric in ("lead_time_for_changes", "change_failure_rate", "time_to_restore_service"):
        assert values(series(metric, interval="monthly", **july)) == [None]
    quiet = summary(**july)
    assert (quiet.deployments, quiet.deployment_frequency, quiet.lead_time_median) == (
        0,
        None,
        None,
    )
    assert set(quiet.bands.values()) == {Band.NO_DATA}


# --- Summary -------------------------------------------------------------------------------------


def test_the_summary_gives_the_four_keys_over_the_period_with_bands(org, alice):
    result = summary(start=JUNE_1, end=JUNE_10, user=alice, team="payments")
    assert (result.deployments, result.days, result.deployment_frequency) == (5, 10, 0.5)
    assert (result.lead_time_median, result.lead_time_p90, result.lead_time_known) == (
        2.5 * HOUR,
        3.7 * HOUR,
        4,
    )
    assert (result.failed, result.change_failure_rate) == (3, 0.6)
    assert (result.time_to_restore_median, result.restored) == (2 * HOUR, 1)
    assert (result.time_to_restore_all_median, result.restored_all) == (2 * HOUR, 1)
    assert result.open_incidents == 1  # I3, caused by P2
    assert result.bands == {
        "deployment_frequency": Band.HIGH,  # deployments in both (ISO) weeks: weekly
        "lead_time_for_changes": Band.HIGH,
        "change_failure_rate": Band.LOW,
        "time_to_restore_service": Band.HIGH,  # 2 h: less than a day
    }


def test_an_incident_without_a_cause_counts_only_among_all_incidents(org, bob):
    result = summary(start=JUNE_1, end=JUNE_10, user=bob, team="search")
    assert (result.deployments, result.failed, result.change_failure_rate) == (1, 0, 0.0)
    assert (result.time_to_restore_median, result.restored) == (None, 0)
    assert (result.time_to_restore_all_median, result.restored_all) == (0.5 * HOUR, 1)


def test_an_incident_open_at_the_period_end_is_left_out_and_counted_as_open(org, alice):
    before = summary(start=JUNE_1, end=JUNE_10, user=alice, team="payments")
    assert before.open_incidents == 1
    org["i3"].resolved_at = at(6, 20)
    org["i3"].save()
    later = summary(start=JUNE_1, end=date(2026, 6, 30), user=alice, team="payments")
    assert (later.open_incidents, later.restored) == (0, 2)


# --- Scope ---------------------------------------------------------------------------------------


def test_a_service_counts_the_changes_that_touched_it(org, alice):
    assert values(june("deployment_frequency", alice, "all", service="search-api")) == [1]
    assert values(june("time_to_restore_all", alice, "all", service="search-api")) == [1800.0]
    assert values(june("deployment_frequency", alice, "all", service="checkout")) == [5]


def test_all_teams_are_the_teams_the_reader_may_see(org, outsider, ledger, django_user_model):
    assert values(june("deployment_frequency", outsider, "all")) == [6]  # not L1
    carol = django_user_model.objects.create_user("carol")
    ledger.members.add(carol)
    assert values(june("deployment_frequency", carol, "all")) == [7]


def test_sre_and_release_managers_see_private_teams(org, sre, manager):
    for user in (sre, manager):
        assert values(june("deployment_frequency", user, "all", team="ledger")) == [1]


def test_a_private_team_is_answered_like_an_unknown_one(org, outsider):
    with pytest.raises(ValidationError) as hidden:
        june("deployment_frequency", outsider, team="ledger")
    with pytest.raises(ValidationError) as unknown:
        june("deployment_frequency", outsider, team="nope")
    assert (
        hidden.value.message_dict["team"][0].replace("ledger", "nope")
        == (unknown.value.message_dict["team"][0])
    )


def test_a_private_teams_service_is_answered_like_an_unknown_one(org, outsider):
    with pytest.raises(ValidationError) as hidden:
        june("deployment_frequency", outsider, service="ledger-core")
    assert "Unknown service “ledger-core”" in hidden.value.message_dict["service"][0]


# --- Local dates and DST -------------------------------------------------------------------------


def test_dates_are_local_and_lead_times_true_elapsed_time_across_dst(
    settings, deploy, make_release, alice
):
    settings.TIME_ZONE = "Europe/Berlin"  # CET until 29 March 2026 01:00 UTC, then CEST
    release = make_release()
    deploy(release, at(3, 28, 23, 30), lead=1)  # 00:30 CET on 29 March
    deploy(release, at(3, 29, 2), lead=4)  # 04:00 CEST; first commit 23:00 CET the day before
    deploy(release, at(3, 31, 22, 30), lead=1)  # 00:30 CEST on 1 April

    daily = series(
        "deployment_frequency",
        start=date(2026, 3, 28),
        end=date(2026, 3, 30),
        interval="daily",
        user=alice,
    )
    assert values(daily) == [0, 2, 0]
    monthly = series(
        "deployment_frequency",
        start=date(2026, 3, 1),
        end=date(2026, 4, 30),
        interval="monthly",
        user=alice,
    )
    assert values(monthly) == [2, 1]
    # Five hours on the wall clock, four of them elapsed.
    lead = series(
        "lead_time_p90",
        start=date(2026, 3, 29),
        end=date(2026, 3, 29),
        interval="daily",
        user=alice,
    )
    assert values(lead) == [HOUR + 0.9 * (4 * HOUR - HOUR)]


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "interval", "field", "words"),
    [
        (date(2026, 6, 2), date(2026, 6, 1), "daily", "start_date", "comes after"),
        (date(2026, 1, 1), date(2026, 6, 30), "daily", "start_date", "at most 180 days"),
        (date(2023, 6, 30), date(2026, 6, 30), "monthly", "start_date", "at most 3 years"),
        (date(2023, 6, 30), date(2026, 6, 30), "all", "start_date", "at most 3 years"),
        (date(1800, 1, 1), date(2026, 6, 30), "all", "start_date", "between the years"),
        (JUNE_1, JUNE_10, "hourly", "interval", "daily, monthly, all"),
    ],
    ids=["reversed", "daily-too-long", "monthly-too-long", "all-too-long", "year", "interval"],
)
def test_a_bad_period_is_refused_naming_the_field(alice, start, end, interval, field, words):
    with pytest.raises(ValidationError) as refused:
        series("deployment_frequency", start=start, end=end, interval=interval, user=alice)
    assert words in refused.value.message_dict[field][0]


def test_the_longest_periods_allowed(alice):
    assert (
        len(
            series(
                "deployment_frequency",
                start=date(2026, 1, 2),
                end=date(2026, 6, 30),
                interval="daily",
                user=alice,
            )
        )
        == 180
    )
    assert (
        len(
            series(
                "deployment_frequency",
                start=date(2023, 7, 1),
                end=date(2026, 6, 30),
                interval="monthly",
                user=alice,
            )
        )
        == 36
    )


def test_an_unknown_metric_is_refused_listing_the_metrics(alice):
    with pytest.raises(ValidationError) as refused:
        june("mttr", alice)
    assert "deployment_frequency, lead_time_for_changes" in refused.value.message_dict["metric"][0]


# --- Queries -------------------------------------------------------------------------------------


def count_queries(function) -> int:
    with CaptureQueriesContext(connection) as queries:
        function()
    return len(queries)


@pytest.mark.parametrize("interval", ["daily", "monthly", "all"])
@pytest.mark.parametrize("metric", dora.PAGE_METRICS)
def test_a_series_runs_one_query_after_the_scope(
    metric, interval, deploy, make_release, make_incident, checkout, manager
):
    release = make_release()

    def run():
        june(metric, manager, interval, team="payments")

    run()  # the reader's permissions are cached on the user after the first call
    before = count_queries(run)
    for day in range(1, 11):
        deployment = deploy(release, at(6, day), lead=day)
        make_incident([checkout], at(6, day, 11), at(6, day, 12), deployment=deployment)
    assert count_queries(run) == before == 2  # the team, then the aggregate


def test_the_summary_runs_a_fixed_number_of_queries(
    deploy, make_release, make_incident, checkout, alice
):
    release = make_release()

    def run():
        summary(start=JUNE_1, end=JUNE_10, user=alice, service="checkout")

    run()
    before = count_queries(run)
    for day in range(1, 11):
        deployment = deploy(release, at(6, day), lead=day)
        make_incident([checkout], at(6, day, 11), at(6, day, 12), deployment=deployment)
    assert count_queries(run) == before == 6  # the service, five aggregates


def test_many_series_at_once_match_one_by_one_in_three_aggregates(org, manager):
    scope = {"start": JUNE_1, "end": JUNE_10, "interval": "daily", "user": manager}
    one_by_one = {metric: series(metric, **scope) for metric in dora.PAGE_METRICS}
    with CaptureQueriesContext(connection) as queries:
        together = dora.series_many(dora.PAGE_METRICS, **scope)
    assert together == one_by_one
    assert len(queries) == 3  # the changes' keys, incidents caused by a change, all incidents


def test_a_teams_incidents_touch_its_services_or_were_caused_by_its_releases_or_deployments(
    deploy, make_release, make_incident, payments, checkout, search_api, alice
):
    owned = Environment.objects.create(name="pay", slug="pay", kind="prod", owner_team=payments)
    bare = deploy(None, at(6, 1), environment=owned)  # no release: the owner team's
    release = make_release(team=payments)
    make_incident([search_api], at(6, 2), at(6, 2, 11), deployment=bare)  # 1 h
    make_incident([search_api], at(6, 3), at(6, 3, 12), release=release)  # 2 h
    make_incident([checkout], at(6, 4), at(6, 4, 18))  # 8 h, no cause
    make_incident([search_api], at(6, 5), at(6, 5, 14))  # Search's alone
    result = summary(start=JUNE_1, end=JUNE_10, user=alice, team="payments")
    assert (result.restored, result.time_to_restore_median) == (2, 1.5 * HOUR)
    assert (result.restored_all, result.time_to_restore_all_median) == (3, 2 * HOUR)
