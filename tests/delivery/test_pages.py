"""The Delivery metrics page, its CSV and the release page's Delivery panel: content, filters,
bad input, what each persona may see, and query counts.

The organisation of ``org`` (March 2025, UTC; lead time in hours, first commit to finish). The
period asked for is 3 to 23 March: 21 days, three whole weeks (3, 10 and 17 March).

========  ========  ============  ====  ===========================================
change    team      finished      lead  what happened
========  ========  ============  ====  ===========================================
P1        Payments  3 Mar 10:00   2
P2        Payments  4 Mar 10:00   4     caused I1 (opened 11:00, resolved 14:00: 3 h)
P3        Payments  12 Mar 10:00  10    rolled back at 11:00
S1        Search    11 Mar 10:00  30
L1        Ledger    5 Mar 10:00   1     a private team
========  ========  ============  ====  ===========================================

I2 names ledger-core, no cause: opened 5 Mar 12:00, resolved 13:00 (1 h). I3 names search-api,
no cause: opened 18 Mar 09:00, still open.

The manager sees everything: 5 changes (5/21 = 0.24 a day); lead times 1, 2, 4, 10, 30 h:
median 4 h, p90 at rank 3.6 = 10 + 0.6 × 20 = 22 h; 2 of 5 failed (40%); time to restore 3 h
(I1), over all incidents 2 h (I1, I2), one open at the end (I3). An outsider does not see
Ledger: 4 changes (0.19 a day), median lead time (4 + 10) / 2 = 7 h, 2 of 4 failed (50%), all
incidents 3 h (I1 alone).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery import dora, views
from delivery.incidents import incident_open
from delivery.views import neutralise
from delivery.wording import duration_text, per_day_text, rate_text
from environments.models import Deployment
from releases.models import Team
from tests.conftest import PASSWORD

from .conftest import at

pytestmark = pytest.mark.django_db

URL = "/delivery/"
CSV_URL = "/delivery/series.csv"
MARCH = {"period": "custom", "start_date": "2025-03-03", "end_date": "2025-03-23"}
H = 3600
MARCH_START, MARCH_END = date(2025, 3, 3), date(2025, 3, 23)


@pytest.fixture
def carol(ledger, django_user_model):
    """A member of the private team Ledger."""
    user = django_user_model.objects.create_user("carol", "carol@example.com", PASSWORD)
    ledger.members.add(user)
    return user


@pytest.fixture
def org(
    manager,
    deploy,
    roll_back,
    make_release,
    payments,
    search,
    ledger,
    checkout,
    search_api,
    ledger_core,
):
    pay = make_release(team=payments, name="Payments 4.2", version="4.2")
    find = make_release(team=search, name="Search 2.0", version="2.0")
    books = make_release(team=ledger, name="Ledger 1.0", version="1.0")
    p1 = deploy(pay, at(3, 3, 10, year=2025), lead=2)
    p2 = deploy(pay, at(3, 4, 10, year=2025), lead=4)
    p3 = deploy(pay, at(3, 12, 10, year=2025), lead=10)
    roll_back(p3, at(3, 12, 11, year=2025))
    deploy(find, at(3, 11, 10, year=2025), lead=30)
    deploy(books, at(3, 5, 10, year=2025), lead=1)
    incident = {"actor": manager, "severity": "sev2"}
    i1 = incident_open(
        **incident,
        title="Checkout errors after 4.2",
        services=[checkout],
        opened_at=at(3, 4, 11, year=2025),
        resolved_at=at(3, 4, 14, year=2025),
        deployment=p2,
    )
    incident_open(
        **incident,
        title="Ledger totals off",
        services=[ledger_core],
        opened_at=at(3, 5, 12, year=2025),
        resolved_at=at(3, 5, 13, year=2025),
    )
    incident_open(
        **incident,
        title="Search 502s",
        services=[search_api],
        opened_at=at(3, 18, 9, year=2025),
    )
    return {"pay": pay, "find": find, "p1": p1, "p2": p2, "p3": p3, "i1": i1}


def page(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


def key(response, metric: str) -> str:
    """The text of one key's card."""
    html = response.content.decode()
    start = html.index(f'data-metric="{metric}"')
    return html[start : html.index("</article>", start)]


# --- The four keys ----------------------------------------------------------------------------


def test_it_shows_the_four_keys_with_their_bands(client, manager, org):
    response = page(client, manager, **MARCH)
    assert response.status_code == 200
    frequency = key(response, "deployment_frequency")
    assert "0.24 a day" in frequency
    assert "5 deployments in 21 days" in frequency
    lead = key(response, "lead_time_for_changes")
    assert ">4 h<" in lead
    assert "90th percentile: 22 h" in lead
    assert "High" in lead  # one hour to one week
    failure = key(response, "change_failure_rate")
    assert "40%" in failure
    assert "2 of 5 changes failed" in failure
    assert "Low" in failure  # more than 30%
    restore = key(response, "time_to_restore_service")
    assert ">3 h<" in restore
    assert "All incidents: 2 h (2 resolved)" in restore
    assert "Open at the period&#x27;s end: 1" in restore


def test_each_key_says_what_it_measures(client, manager, org):
    response = page(client, manager, **MARCH)
    assert "From the first commit of the build to the end of its production deployment" in (
        key(response, "lead_time_for_changes")
    )
    assert "2021 Accelerate State of DevOps report" in response.content.decode()


def test_a_period_without_deployments_says_no_data_not_zero(client, manager, org):
    response = page(
        client, manager, period="custom", start_date="2024-01-01", end_date="2024-01-31"
    )
    assert response.status_code == 200
    for metric in dora.METRICS:
        card = key(response, metric)
        assert "no data" in card
        assert "No data" in card  # the band
    assert "No data in this period" in response.content.decode()


def test_the_last_90_days_are_the_default(client, manager, deploy, make_release):
    recent = timezone.now() - timedelta(days=2)
    deploy(make_release(), recent, lead=5)
    deploy(make_release(), timezone.now() - timedelta(days=120), lead=5)
    response = page(client, manager)
    assert response.status_code == 200
    assert "1 deployment in 90 days" in key(response, "deployment_frequency")
    today = dora.today()
    assert f'value="{today - timedelta(days=89):%Y-%m-%d}"' in response.content.decode()


# --- Filters ----------------------------------------------------------------------------------


def test_it_narrows_to_one_team(client, manager, org):
    response = page(client, manager, team="search", **MARCH)
    assert "Search · " in response.content.decode()
    assert "1 deployment in 21 days" in key(response, "deployment_frequency")
    assert ">1 d 6 h<" in key(response, "lead_time_for_changes")
    assert "0 of 1 changes failed" in key(response, "change_failure_rate")


def test_it_narrows_to_one_service(client, manager, org):
    # Payments' releases name no service: they touch all of Payments' services.
    response = page(client, manager, service="checkout", **MARCH)
    assert "3 deployments in 21 days" in key(response, "deployment_frequency")
    assert ">3 h<" in key(response, "time_to_restore_service")


def test_a_service_past_the_drop_downs_length_is_served_all_the_same(
    client, manager, org, monkeypatch
):
    monkeypatch.setattr(views, "MOST_SERVICES", 1)
    response = page(client, manager, service="search-api", **MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="ledger-core">' in html  # the first, by team name
    assert '<option value="checkout">' not in html
    assert '<option value="search-api" selected>' in html
    assert "1 deployment in 21 days" in key(response, "deployment_frequency")


def test_dates_without_a_period_are_custom_dates(client, manager, org):
    response = page(client, manager, start_date="2025-03-10", end_date="2025-03-16")
    assert response.status_code == 200
    assert "2 deployments in 7 days" in key(response, "deployment_frequency")


def test_the_trends_per_week_have_a_chart_and_exact_values(client, manager, org):
    response = page(client, manager, **MARCH)
    html = response.content.decode()
    assert "Trends per week" in html
    for metric in ("deployment_frequency", "lead_time_for_changes", "change_failure_rate"):
        assert f'id="trend-{metric}"' in html  # the wide drawing
        assert f'id="trend-{metric}-narrow"' in html  # the phone's
    trends = {trend.metric: trend for trend in response.context["trends"]}
    rows = trends["deployment_frequency"].rows
    assert [(r.period, r.value, r.detail) for r in rows] == [
        ("Week of 3 Mar 2025", "3", "0.43 a day"),
        ("Week of 10 Mar 2025", "2", "0.29 a day"),
        ("Week of 17 Mar 2025", "0", "0 a day"),
    ]
    assert [r.value for r in trends["lead_time_for_changes"].rows] == ["2 h", "20 h", "no data"]
    assert [r.detail for r in trends["change_failure_rate"].rows] == ["1 of 3", "1 of 2", ""]
    assert "<title>Week of 3 Mar 2025: 3 deployments (0.43 a day)</title>" in html


def test_the_trends_per_month_cut_the_ends_to_the_period(client, manager, org):
    response = page(
        client,
        manager,
        period="custom",
        start_date="2025-02-20",
        end_date="2025-03-23",
        interval="monthly",
    )
    assert "Trends per month" in response.content.decode()
    trend = response.context["trends"][0]
    assert [(r.period, r.value) for r in trend.rows] == [
        ("20–28 Feb 2025", "0"),
        ("1–23 Mar 2025", "5"),
    ]


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"period": "custom", "start_date": "2025-03-10", "end_date": "2025-03-01"},
            "start_date",
            "comes after the end date",
        ),
        (
            {"period": "custom", "start_date": "2020-01-01", "end_date": "2025-03-01"},
            "start_date",
            "at most 3 years",
        ),
        ({"period": "custom", "start_date": "2025-13-40"}, "start_date", "Enter a valid date."),
        ({"period": "custom", "end_date": "2025-03-01"}, "start_date", "Give the first day"),
        ({"period": "7"}, "period", "Choose a period from the list."),
        ({"interval": "daily"}, "interval", "Choose per week or per month."),
        ({"team": "nope"}, "team", "Choose a team from the list."),
        ({"service": "nope"}, "service", "Choose a service from the list."),
    ],
    ids=[
        "start-after-end",
        "too-long",
        "bad-date",
        "no-start",
        "unknown-period",
        "unknown-interval",
        "unknown-team",
        "unknown-service",
    ],
)
def test_it_refuses_bad_filters_naming_the_field(client, manager, org, params, field, message):
    response = page(client, manager, **params)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "summary" not in response.context


def test_anonymous_readers_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- What each reader may see -----------------------------------------------------------------


def test_an_outsider_sees_neither_the_private_team_nor_its_figures(client, outsider, org):
    response = page(client, outsider, **MARCH)
    html = response.content.decode()
    assert "Ledger" not in html
    assert "ledger-core" not in html
    assert "4 deployments in 21 days" in key(response, "deployment_frequency")
    assert ">7 h<" in key(response, "lead_time_for_changes")
    assert "2 of 4 changes failed" in key(response, "change_failure_rate")
    assert "All incidents: 3 h (1 resolved)" in key(response, "time_to_restore_service")


def test_a_private_team_is_refused_like_an_unknown_one(client, outsider, org):
    hidden = page(client, outsider, team="ledger", **MARCH)
    unknown = page(client, outsider, team="nope", **MARCH)
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.context["form"].errors == unknown.context["form"].errors
    assert "Ledger" not in hidden.content.decode()
    service = page(client, outsider, service="ledger-core", **MARCH)
    assert service.status_code == 400


def test_a_member_of_the_private_team_sees_it(client, carol, org):
    response = page(client, carol, team="ledger", **MARCH)
    assert response.status_code == 200
    assert "1 deployment in 21 days" in key(response, "deployment_frequency")
    assert '<option value="ledger-core">Ledger core</option>' in response.content.decode()


def test_an_sre_sees_every_team(client, sre, org):
    response = page(client, sre, **MARCH)
    assert "5 deployments in 21 days" in key(response, "deployment_frequency")


# --- Query counts -----------------------------------------------------------------------------


def count_queries(client, user, **params) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("scope", [{}, {"team": "payments"}, {"service": "checkout"}])
def test_the_page_costs_the_same_queries_whatever_the_rows(
    client, manager, org, deploy, make_release, payments, scope
):
    few = count_queries(client, manager, **MARCH, **scope)
    more = make_release(team=payments)
    for day in range(3, 20):
        deploy(more, at(3, day, 15, year=2025), lead=day)
    assert count_queries(client, manager, **MARCH, **scope) == few


# --- CSV --------------------------------------------------------------------------------------


def read_csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_csv_has_a_row_per_week_with_every_series(client, manager, org):
    client.force_login(manager)
    response = client.get(CSV_URL, MARCH)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    assert 'delivery-all-2025-03-03-2025-03-23-weekly.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert [row["bucket"] for row in rows] == ["2025-03-03", "2025-03-10", "2025-03-17"]
    first, second, third = rows
    assert first == {
        "team": "all",
        "service": "",
        "interval": "weekly",
        "bucket": "2025-03-03",
        "from": "2025-03-03",
        "to": "2025-03-09",
        "days": "7",
        "deployments": "3",
        "deployments_per_day": "0.4286",
        "lead_time_median_seconds": str(float(2 * H)),
        "lead_time_p90_seconds": str(3.6 * H),  # rank 1.8 of 1, 2, 4 h
        "change_failure_rate": "0.3333",
        "failed_changes": "1",
        "time_to_restore_median_seconds": str(float(3 * H)),
        "time_to_restore_all_incidents_median_seconds": str(float(2 * H)),
    }
    assert (second["deployments"], second["lead_time_median_seconds"]) == ("2", str(20.0 * H))
    # Nothing to measure is an empty cell, never 0 (but no deployment is a true 0).
    assert (third["deployments"], third["lead_time_median_seconds"]) == ("0", "")
    assert (third["change_failure_rate"], third["time_to_restore_median_seconds"]) == ("", "")


def test_the_csv_follows_the_page_filters(client, outsider, org):
    client.force_login(outsider)
    rows = read_csv(client.get(CSV_URL, {**MARCH, "interval": "monthly"}))
    assert [(row["bucket"], row["deployments"]) for row in rows] == [("2025-03-01", "4")]
    refused = client.get(CSV_URL, {**MARCH, "team": "ledger"})
    assert refused.status_code == 400
    assert refused.content.decode() == "team: Choose a team from the list.\n"


def test_the_csv_refuses_a_bad_period_naming_the_field(client, manager, org):
    client.force_login(manager)
    response = client.get(
        CSV_URL, {"period": "custom", "start_date": "2025-03-10", "end_date": "2025-03-01"}
    )
    assert response.status_code == 400
    assert response.content.decode().startswith("start_date: The start date 2025-03-10 comes after")


def test_the_csv_quotes_a_cell_a_spreadsheet_would_run(client, manager, deploy, make_release):
    team = Team.objects.create(name="Formula", slug="-2-cmd", color="#000000")
    deploy(make_release(team=team), at(3, 4, 10, year=2025), lead=1)
    client.force_login(manager)
    rows = read_csv(client.get(CSV_URL, {**MARCH, "team": "-2-cmd"}))
    assert rows[0]["team"] == "'-2-cmd"
    assert rows[0]["deployments"] == "1"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_neutralise_quotes_formula_starts(start):
    assert neutralise(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert neutralise("payments") == "payments"
    assert neutralise(-1) == -1  # numbers are numbers


def test_a_week_is_a_local_week_across_a_dst_change(
    client, manager, deploy, make_release, settings
):
    settings.TIME_ZONE = "Europe/Berlin"
    # Monday 31 March 2025, 00:30 in Berlin (summer time) is Sunday 22:30 UTC: the new week.
    deploy(make_release(), at(3, 30, 22, 30, year=2025), lead=1)
    client.force_login(manager)
    params = {"period": "custom", "start_date": "2025-03-24", "end_date": "2025-04-06"}
    rows = read_csv(client.get(CSV_URL, params))
    assert [(row["bucket"], row["deployments"]) for row in rows] == [
        ("2025-03-24", "0"),
        ("2025-03-31", "1"),
    ]


def test_weekly_buckets_are_the_pages_own_not_the_apis(api, manager, org):
    # GitLab's API has no weekly interval; the page's trend asks dora.series for one.
    points = dora.series(
        "deployment_frequency",
        start=MARCH_START,
        end=MARCH_END,
        interval="weekly",
        user=manager,
    )
    assert [(p["date"].isoformat(), p["value"]) for p in points] == [
        ("2025-03-03", 3),
        ("2025-03-10", 2),
        ("2025-03-17", 0),
    ]
    response = api.as_user(manager).get(
        "/api/v1/dora/metrics/",
        {"metric": "deployment_frequency", "interval": "weekly", "start_date": "2025-03-03"},
    )
    assert response.status_code == 400
    assert "interval" in response.json()


# --- Wording ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "no data"),
        (0, "0 min"),
        (20, "under 1 min"),
        (45 * 60, "45 min"),
        (90 * 60, "1 h 30 min"),
        (5 * H, "5 h"),
        (30 * H, "1 d 6 h"),
        (48 * H, "2 d"),
    ],
)
def test_durations_read_in_the_largest_useful_units(seconds, text):
    assert duration_text(seconds) == text


def test_rates_and_frequencies_read_plainly():
    assert rate_text(0.125) == "12.5%"
    assert rate_text(None) == "no data"
    assert per_day_text(5 / 21) == "0.24 a day"
    assert per_day_text(2.0) == "2 a day"


# --- The release page's Delivery panel --------------------------------------------------------


def release_page(client, user, release):
    client.force_login(user)
    return client.get(release.get_absolute_url())


def panel(response) -> str:
    html = response.content.decode()
    start = html.index('id="delivery"')
    return html[start : html.index("</section>", start)]


def test_the_release_page_shows_its_lead_times_outcomes_and_incidents(client, manager, org):
    text = panel(release_page(client, manager, org["pay"]))
    assert "Lead time <strong data-lead-time>4 h</strong>" in text
    assert "Lead time <strong data-lead-time>2 h</strong>" in text
    assert "failed change: caused an incident" in text
    assert "failed change: rolled back" in text
    assert "Checkout errors after 4.2" in text
    assert "Restored in <strong>3 h</strong>" in text
    assert "Delivery metrics of Payments" in text


def test_the_panel_says_when_an_incident_is_still_open(client, manager, org, deploy, search_api):
    find = org["find"]
    s2 = Deployment.objects.get(release=find, rollback_of=None)
    incident_open(
        actor=manager,
        title="Search down after 2.0",
        services=[search_api],
        opened_at=s2.finished_at + timedelta(hours=1),
        deployment=s2,
    )
    text = panel(release_page(client, manager, find))
    assert "Search down after 2.0" in text
    assert '<span class="tag tag--danger">open</span>' in text


def test_a_release_never_in_production_has_no_delivery_panel(client, manager, make_release):
    response = release_page(client, manager, make_release())
    assert response.status_code == 200
    assert 'id="delivery"' not in response.content.decode()


def test_the_panel_leaves_out_incidents_the_reader_may_not_see(
    client, manager, outsider, org, ledger_core
):
    incident_open(
        actor=manager,
        title="Ledger sync broken by 4.2",
        services=[ledger_core],
        opened_at=org["p1"].finished_at + timedelta(hours=1),
        resolved_at=org["p1"].finished_at + timedelta(hours=2),
        deployment=org["p1"],
    )
    assert "Ledger sync broken by 4.2" in panel(release_page(client, manager, org["pay"]))
    hidden = release_page(client, outsider, org["pay"]).content.decode()
    assert "Ledger" not in hidden
    assert "Checkout errors after 4.2" in hidden


def test_the_panel_costs_the_same_queries_whatever_the_rows(client, manager, org, deploy, checkout):
    def queries() -> int:
        client.force_login(manager)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(org["pay"].get_absolute_url()).status_code == 200
        return len(captured)

    few = queries()
    for day in range(13, 18):
        change = deploy(org["pay"], at(3, day, 10, year=2025), lead=day)
        incident_open(
            actor=manager,
            title=f"Incident {day}",
            services=[checkout],
            opened_at=change.finished_at + timedelta(hours=1),
            deployment=change,
        )
    assert queries() == few
