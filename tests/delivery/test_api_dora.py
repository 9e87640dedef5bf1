"""``GET /api/v1/dora/metrics/``: GitLab's DORA metrics API, per team and service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from delivery import dora

from .conftest import at

pytestmark = pytest.mark.django_db

URL = "/api/v1/dora/metrics/"
JUNE = {"start_date": "2026-06-01", "end_date": "2026-06-10"}


@pytest.fixture
def changes(deploy, make_release, payments, search, ledger, checkout, search_api, ledger_core):
    """Payments: three changes (1, 1 and 3 June, lead 1, 2 and 4 h); Search: one (2 June);
    Ledger (private): one (5 June)."""
    pay = make_release(team=payments)
    deploy(pay, at(6, 1, 10), lead=1)
    deploy(pay, at(6, 1, 15), lead=2)
    deploy(pay, at(6, 3, 10), lead=4)
    deploy(make_release(team=search), at(6, 2, 10), lead=10)
    deploy(make_release(team=ledger), at(6, 5, 10), lead=1)


def get(api, user, **params):
    client = api.as_user(user) if user else api
    return client.get(URL, params)


def test_it_answers_gitlabs_shape_per_day(api, alice, changes):
    response = get(api, alice, metric="deployment_frequency", team="payments", **JUNE)
    assert response.status_code == 200
    assert response.json()[:4] == [
        {"date": "2026-06-01", "value": 2},
        {"date": "2026-06-02", "value": 0},
        {"date": "2026-06-03", "value": 1},
        {"date": "2026-06-04", "value": 0},
    ]
    assert len(response.json()) == 10


def test_it_answers_the_median_lead_time_in_seconds_per_month(api, alice, changes):
    response = get(
        api, alice, metric="lead_time_for_changes", interval="monthly", team="payments", **JUNE
    )
    assert response.json() == [{"date": "2026-06-01", "value": 7200.0}]


def test_it_answers_null_when_there_is_nothing_to_measure(api, alice, changes):
    response = get(
        api,
        alice,
        metric="change_failure_rate",
        interval="all",
        start_date="2026-07-01",
        end_date="2026-07-31",
    )
    assert response.json() == [{"date": "2026-07-01", "value": None}]


def test_it_filters_by_service(api, bob, changes):
    params = {"metric": "deployment_frequency", "interval": "all", **JUNE}
    assert get(api, bob, service="search-api", **params).json()[0]["value"] == 1
    assert get(api, bob, service="checkout", **params).json()[0]["value"] == 3


def test_it_defaults_like_gitlab_to_three_months_daily_up_to_today(api, alice, changes):
    response = get(api, alice, metric="deployment_frequency")
    points = response.json()
    start, end = dora.default_period()
    assert (points[0]["date"], points[-1]["date"]) == (start.isoformat(), end.isoformat())
    assert len(points) == (end - start).days + 1


# --- Who sees what -------------------------------------------------------------------------------


def test_it_needs_a_signed_in_user(api, changes):
    assert get(api, None, metric="deployment_frequency").status_code == 401


def test_an_outsider_counts_only_the_teams_they_may_see(api, outsider, manager, changes):
    params = {"metric": "deployment_frequency", "interval": "all", **JUNE}
    assert get(api, outsider, **params).json()[0]["value"] == 4  # not Ledger's
    assert get(api, manager, **params).json()[0]["value"] == 5


def test_an_outsider_asking_for_a_private_team_is_told_it_is_unknown(api, outsider, changes):
    hidden = get(api, outsider, metric="deployment_frequency", team="ledger")
    unknown = get(api, outsider, metric="deployment_frequency", team="nope")
    assert (hidden.status_code, unknown.status_code) == (400, 400)
    assert hidden.json()["team"][0].replace("ledger", "nope") == unknown.json()["team"][0]


def test_an_outsider_asking_for_a_private_service_is_told_it_is_unknown(api, outsider, changes):
    response = get(api, outsider, metric="deployment_frequency", service="ledger-core")
    assert response.status_code == 400
    assert "Unknown service “ledger-core”" in response.json()["service"][0]


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({}, "metric", "required"),
        ({"metric": "mttr"}, "metric", "one of deployment_frequency, lead_time_for_changes"),
        ({"metric": "deployment_frequency", "interval": "weekly"}, "interval", "daily, monthly"),
        ({"metric": "deployment_frequency", "start_date": "June"}, "start_date", "format"),
        ({"metric": "deployment_frequency", "end_date": "2026-02-30"}, "end_date", "format"),
        (
            {
                "metric": "deployment_frequency",
                "start_date": "2026-06-02",
                "end_date": "2026-06-01",
            },
            "start_date",
            "comes after",
        ),
        (
            {
                "metric": "deployment_frequency",
                "start_date": "2025-12-01",
                "end_date": "2026-06-30",
            },
            "start_date",
            "at most 180 days",
        ),
        (
            {
                "metric": "lead_time_for_changes",
                "interval": "monthly",
                "start_date": "2020-01-01",
                "end_date": "2026-06-30",
            },
            "start_date",
            "at most 3 years",
        ),
        ({"metric": "deployment_frequency", "team": "nope"}, "team", "Unknown team"),
        ({"metric": "deployment_frequency", "service": "nope"}, "service", "Unknown service"),
        ({"metric": "deployment_frequency", "team": "a\x00b"}, "team", "Null characters"),
    ],
    ids=[
        "no-metric",
        "unknown-metric",
        "interval",
        "malformed-start",
        "impossible-end",
        "reversed",
        "daily-too-long",
        "monthly-too-long",
        "unknown-team",
        "unknown-service",
        "nul",
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, alice, params, field, words):
    response = get(api, alice, **params)
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])


def test_an_end_date_alone_defaults_the_start_to_three_months_before(api, alice):
    response = get(api, alice, metric="deployment_frequency", end_date="2026-06-30")
    assert response.json()[0]["date"] == "2026-03-30"


# --- Queries and documentation -------------------------------------------------------------------


@pytest.mark.parametrize("metric", dora.METRICS)
def test_it_runs_a_fixed_number_of_queries(
    api, manager, deploy, make_release, make_incident, checkout, metric
):
    release = make_release()
    client = api.as_user(manager)
    params = {"metric": metric, "interval": "daily", "team": "payments", **JUNE}

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, params).status_code == 200
        return len(captured)

    few = queries()
    for day in range(1, 11):
        deployment = deploy(release, at(6, day), lead=day)
        make_incident(
            [checkout],
            at(6, day, 11),
            at(6, day, 12) + timedelta(minutes=day),
            deployment=deployment,
        )
    assert queries() == few


def test_the_schema_documents_the_endpoint_with_gitlabs_parameters(api, outsider):
    response = api.as_user(outsider).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    operation = response.json()["paths"][URL]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"metric", "start_date", "end_date", "interval", "team", "service"} <= names
    assert operation["responses"]["200"]["content"]["application/json"]["examples"]


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))


# --- GitLab's own path and header ------------------------------------------------------------


def gitlab(api, project, token="", **params):
    headers = {"HTTP_PRIVATE_TOKEN": token} if token else {}
    return api.get(f"/api/v4/projects/{project}/dora/metrics", params, **headers)


def test_gitlabs_path_and_private_token_header_answer_the_same(api, alice, changes):
    """A dashboard built for GitLab changes only its host: the team's slug is the project."""
    token = Token.objects.create(user=alice).key
    response = gitlab(api, "payments", token, metric="deployment_frequency", **JUNE)
    assert response.status_code == 200
    ours = get(api, alice, metric="deployment_frequency", team="payments", **JUNE)
    assert response.json() == ours.json()


def test_gitlabs_path_refuses_a_wrong_token_and_no_token(api, alice, changes):
    assert gitlab(api, "payments", "not-a-token", metric="deployment_frequency").status_code == 401
    assert gitlab(api, "payments", metric="deployment_frequency").status_code == 401


def test_gitlabs_path_hides_a_private_team_like_an_unknown_one(api, outsider, changes):
    token = Token.objects.create(user=outsider).key
    hidden = gitlab(api, "ledger", token, metric="deployment_frequency", **JUNE)
    unknown = gitlab(api, "no-such-team", token, metric="deployment_frequency", **JUNE)
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json()["team"] == [unknown.json()["team"][0].replace("no-such-team", "ledger")]
