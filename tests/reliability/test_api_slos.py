"""The SLO API (`/api/v1/slos/`): defining SLOs, PromQL tried against a real Prometheus when
saved, bad input answered 400 naming the field with nothing stored, who may do what, the
evaluation's read-only figures, the chart series, and a fixed number of queries per list."""

# The fixtures come from api_fixtures and conftest: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments.models import Deployment, DeploymentOutcome, Environment
from reliability import services
from reliability.models import SLO, Service, SLOSnapshot
from tests.reliability import history

from .api_fixtures import (  # noqa: F401  (fixtures)
    as_user,
    hidden,
    last_event,
    maya,
    payments_api,
    pushed_slo,
    secret,
    sre,
    stored,
)
from .budget_helpers import evaluated

URL = "/api/v1/slos/"
BROKEN = 'sum(rate(http_requests_total{service="burning",code!~"5.."[$window]))'


def create(client, **body):
    body.setdefault("service", "payments-api")
    body.setdefault("name", "checkout success")
    body.setdefault("objective", "99.5")
    body.setdefault("source", "pushed")
    return client.post(URL, body, format="json")


def prometheus_body(**body) -> dict:
    return {"source": "prometheus", **history.queries("burning"), **body}


# --- Creating -----------------------------------------------------------------------------------


def test_a_team_member_adds_a_pushed_slo_with_a_28_day_window(as_user, alice, payments_api):
    response = create(as_user(alice))
    assert response.status_code == 201, response.data
    assert response.data["window_days"] == 28
    assert response.data["objective"] == "99.5000"
    assert response.data["state"] == "no_data"
    assert response.data["service"] == "payments-api"
    slo = SLO.objects.get()
    assert (slo.service, slo.name) == (payments_api, "checkout success")
    assert last_event().action == "slo.create"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"objective": "0"}, "objective", id="objective-0"),
        pytest.param({"objective": "100"}, "objective", id="objective-100"),
        pytest.param({"objective": "-5"}, "objective", id="objective-negative"),
        pytest.param({"objective": "100.5"}, "objective", id="objective-over-100"),
        pytest.param({"objective": "abc"}, "objective", id="objective-not-a-number"),
        pytest.param({"window_days": 0}, "window_days", id="window-0-days"),
        pytest.param({"window_days": -3}, "window_days", id="window-negative"),
        pytest.param({"window_days": 10**12}, "window_days", id="window-huge"),
        pytest.param({"service": "nope"}, "service", id="unknown-service"),
        pytest.param({"source": "graphite"}, "source", id="unknown-source"),
        pytest.param({"good_query": "up"}, "good_query", id="pushed-with-promql"),
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "x" * 101}, "name", id="long-name"),
        pytest.param({"state": "healthy"}, "state", id="read-only-state"),
        pytest.param({"budget_remaining": 1}, "budget_remaining", id="read-only-budget"),
        pytest.param({"objectve": "99"}, "objectve", id="unknown-field"),
        pytest.param({"name": "a\x00b"}, "name", id="nul"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(
    as_user, manager, payments_api, stored, body, field
):
    before = stored()
    response = create(as_user(manager), **body)
    assert response.status_code == 400, response.data
    assert field in response.data, response.data
    assert stored() == before


def test_an_objective_out_of_range_is_explained(as_user, manager, payments_api):
    response = create(as_user(manager), objective="100")
    assert response.data["objective"] == [
        "The objective must lie strictly between 0 and 100 (%), e.g. 99.9; 100 is not."
    ]


def test_a_window_shorter_than_a_day_is_explained(as_user, manager, payments_api):
    response = create(as_user(manager), window_days=0)
    assert response.data["window_days"] == ["The window must be at least one day."]


def test_a_second_slo_of_the_same_name_is_a_400_on_the_name(as_user, manager, pushed_slo):
    response = create(as_user(manager), name="availability")
    assert response.status_code == 400
    assert "availability" in response.data["name"][0]


def test_a_prometheus_slo_needs_good_and_total_or_a_ratio(as_user, manager, payments_api, stored):
    before = stored()
    response = create(as_user(manager), source="prometheus")
    assert response.status_code == 400
    assert set(response.data) == {"good_query", "total_query"}
    assert stored() == before


def test_a_prometheus_expression_needs_the_window_placeholder(as_user, manager, payments_api):
    body = prometheus_body(good_query='sum(rate(http_requests_total{code="200"}[5m]))')
    response = create(as_user(manager), **body)
    assert response.status_code == 400
    assert "$window" in response.data["good_query"][0]


def test_promql_that_prometheus_refuses_is_a_400_with_its_error_and_nothing_is_stored(
    as_user, manager, payments_api, prometheus_server, stored
):
    before = stored()
    response = create(as_user(manager), **prometheus_body(good_query=BROKEN))
    assert response.status_code == 400
    assert list(response.data) == ["good_query"]
    message = response.data["good_query"][0]
    assert message.startswith("Prometheus refused the query:")
    assert "parse error" in message
    assert stored() == before


def test_promql_that_prometheus_accepts_is_stored(
    as_user, manager, payments_api, prometheus_server
):
    response = create(as_user(manager), **prometheus_body())
    assert response.status_code == 201, response.data
    assert SLO.objects.get().good_query == history.queries("burning")["good_query"]


def test_an_error_ratio_expression_is_enough(as_user, manager, payments_api, prometheus_server):
    response = create(
        as_user(manager), source="prometheus", error_ratio_query=history.ratio_query("burning")
    )
    assert response.status_code == 201, response.data


def test_a_prometheus_that_does_not_answer_is_a_400_on_the_url(
    as_user, manager, payments_api, closed_port, stored
):
    before = stored()
    response = create(as_user(manager), **prometheus_body(prometheus_url=closed_port))
    assert response.status_code == 400
    assert "Could not test the query" in response.data["prometheus_url"][0]
    assert stored() == before


def test_changing_the_promql_tries_it_again(
    as_user, manager, payments_api, prometheus_server, stored
):
    slo = services.slo_create(
        actor=manager,
        service=payments_api,
        name="availability",
        objective="99.9",
        **prometheus_body(),
    )
    before = stored()
    response = as_user(manager).patch(f"{URL}{slo.pk}/", {"good_query": BROKEN}, format="json")
    assert response.status_code == 400
    assert "parse error" in response.data["good_query"][0]
    assert stored() == before


def test_switching_to_pushed_measurements_drops_the_promql(
    as_user, manager, payments_api, prometheus_server
):
    slo = services.slo_create(
        actor=manager,
        service=payments_api,
        name="availability",
        objective="99.9",
        **prometheus_body(),
    )
    response = as_user(manager).patch(f"{URL}{slo.pk}/", {"source": "pushed"}, format="json")
    assert response.status_code == 200, response.data
    slo.refresh_from_db()
    assert (slo.source, slo.good_query, slo.total_query) == ("pushed", "", "")


# --- Who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "sre", "admin", "alice"])
def test_the_team_managers_sre_and_admins_add_slos(request, as_user, payments_api, persona):
    assert create(as_user(request.getfixturevalue(persona))).status_code == 201


@pytest.mark.parametrize("persona", ["outsider", "bob"])
def test_others_may_not_add_change_or_delete_slos(request, as_user, pushed_slo, stored, persona):
    client = as_user(request.getfixturevalue(persona))
    before = stored()
    assert create(client, name="other").status_code == 403
    assert client.patch(f"{URL}{pushed_slo.pk}/", {"objective": "99"}).status_code == 403
    assert client.delete(f"{URL}{pushed_slo.pk}/").status_code == 403
    assert stored() == before


def test_a_member_changes_the_objective_and_the_change_is_audited(as_user, alice, pushed_slo):
    response = as_user(alice).patch(f"{URL}{pushed_slo.pk}/", {"objective": "99.95"})
    assert response.status_code == 200, response.data
    event = last_event()
    assert (event.action, event.before, event.after) == (
        "slo.update",
        {"objective": "99.9000"},
        {"objective": "99.9500"},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"service": "payments-api"}, "service", id="service"),
        pytest.param({"state": "healthy"}, "state", id="state"),
        pytest.param({"evaluated_at": "2027-01-01T00:00:00Z"}, "evaluated_at", id="evaluated"),
        pytest.param({"objective": "100"}, "objective", id="objective"),
    ],
)
def test_a_change_the_slo_does_not_take_is_refused(
    as_user, manager, pushed_slo, stored, body, field
):
    before = stored()
    response = as_user(manager).patch(f"{URL}{pushed_slo.pk}/", body, format="json")
    assert response.status_code == 400
    assert list(response.data) == [field]
    assert stored() == before


def test_a_member_deletes_an_slo(as_user, alice, pushed_slo):
    assert as_user(alice).delete(f"{URL}{pushed_slo.pk}/").status_code == 204
    assert not SLO.objects.exists()
    assert last_event().action == "slo.delete"


# --- Reading ----------------------------------------------------------------------------------


def test_everyone_reads_the_latest_evaluation_with_the_budget_in_minutes(
    as_user, outsider, pushed_slo
):
    evaluated(pushed_slo, "at_risk", 0.2, alert="ticket")
    response = as_user(outsider).get(f"{URL}{pushed_slo.pk}/")
    assert response.status_code == 200
    data = response.data
    assert (data["state"], data["alert"], data["budget_remaining"]) == ("at_risk", "ticket", 0.2)
    # 20 % of a 0.1 % budget over 28 days: 0.2 × 0.001 × 40,320 minutes.
    assert data["budget_minutes"] == pytest.approx(8.06, abs=0.01)
    assert data["burn_rates"]["3d"] == 0.8
    assert data["evaluated_at"] is not None
    assert data["url"] == "/reliability/payments-api/"


@pytest.mark.parametrize("persona", ["outsider", "bob", "alice"])
def test_a_private_teams_slo_is_invisible_to_others(request, as_user, manager, hidden, persona):
    slo = services.slo_create(
        actor=manager, service=hidden, name="availability", objective=99, source="pushed"
    )
    client = as_user(request.getfixturevalue(persona))
    assert client.get(URL).data["count"] == 0
    assert client.get(f"{URL}{slo.pk}/").status_code == 404
    assert client.get(f"{URL}{slo.pk}/series/").status_code == 404
    assert client.get(f"{URL}{slo.pk}/measurements/").status_code == 404
    # Naming its service in a body is the same 400 as naming one that does not exist.
    refused = create(client, service="vault-api").data
    missing = create(client, service="nope").data
    assert str(refused).replace("vault-api", "nope") == str(missing)


def test_members_of_a_private_team_and_sre_see_its_slos(as_user, manager, maya, sre, hidden):
    services.slo_create(
        actor=manager, service=hidden, name="availability", objective=99, source="pushed"
    )
    for user in (maya, sre, manager):
        assert as_user(user).get(URL).data["count"] == 1


def test_the_list_filters_by_team_service_and_state(as_user, manager, search, pushed_slo):
    other = services.service_create(actor=manager, team=search, name="Search API")
    services.slo_create(actor=manager, service=other, name="latency", objective=99, source="pushed")
    evaluated(pushed_slo, "exhausted", -0.5)
    client = as_user(manager)

    def names(**params) -> list[str]:
        response = client.get(URL, params)
        assert response.status_code == 200, response.data
        return [row["name"] for row in response.data["results"]]

    assert names(team="search") == ["latency"]
    assert names(service="payments-api") == ["availability"]
    assert names(state="exhausted") == ["availability"]
    assert names(state=["exhausted", "no_data"]) == ["availability", "latency"]
    assert client.get(URL, {"state": "fine"}).status_code == 400


def test_the_list_runs_the_same_number_of_queries_for_3_slos_as_for_30(
    as_user, manager, payments, search
):
    def count() -> int:
        client = as_user(type(manager).objects.get(pk=manager.pk))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL, {"page_size": 500}).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            number = Service.objects.count()
            service = services.service_create(
                actor=manager, team=(payments, search)[number % 2], name=f"Service {number}"
            )
            services.slo_create(
                actor=manager, service=service, name="availability", objective=99, source="pushed"
            )

    add(3)
    few = count()
    add(27)
    assert count() == few


# --- The chart series -------------------------------------------------------------------------


def snapshots(slo: SLO, count: int, *, step: timedelta, now) -> None:
    SLOSnapshot.objects.bulk_create(
        SLOSnapshot(
            slo=slo,
            at=now - (count - 1 - i) * step,
            state="healthy",
            budget_remaining=1 - i / count,
            sli=0.9995,
        )
        for i in range(count)
    )


def test_the_series_is_thinned_to_the_points_asked_keeping_the_latest(
    as_user, outsider, pushed_slo
):
    now = timezone.now()
    snapshots(pushed_slo, 1000, step=timedelta(minutes=30), now=now - timedelta(minutes=1))
    response = as_user(outsider).get(f"{URL}{pushed_slo.pk}/series/", {"points": 50})
    assert response.status_code == 200, response.data
    points = response.data["points"]
    assert len(points) == 50
    assert points[-1]["budget_remaining"] == pytest.approx(1 - 999 / 1000)
    assert [p["at"] for p in points] == sorted(p["at"] for p in points)
    # Only the SLO's own 28-day window: 1,000 half hours reach back almost 21 days.
    assert response.data["at_risk_below"] == 0.25
    default = as_user(outsider).get(f"{URL}{pushed_slo.pk}/series/").data
    assert len(default["points"]) == 300


def test_the_series_leaves_out_snapshots_older_than_the_window(as_user, outsider, pushed_slo):
    now = timezone.now()
    snapshots(pushed_slo, 40, step=timedelta(days=1), now=now - timedelta(minutes=1))
    points = as_user(outsider).get(f"{URL}{pushed_slo.pk}/series/").data["points"]
    assert len(points) == 28


@pytest.mark.parametrize("points", ["1", "5000", "many"])
def test_a_bad_points_parameter_is_a_400(as_user, outsider, pushed_slo, points):
    response = as_user(outsider).get(f"{URL}{pushed_slo.pk}/series/", {"points": points})
    assert response.status_code == 400
    assert list(response.data) == ["points"]


def test_the_series_marks_only_deployments_the_reader_may_see(
    as_user, outsider, manager, make_release, pushed_slo, secret
):
    prod = Environment.objects.create(name="prod", slug="prod", kind="prod")
    now = timezone.now()
    public = make_release(name="Payments 4.2", version="4.2.0")
    private = make_release(team=secret, name="Vault 1.0", version="1.0.0")
    services.release_services_set(actor=manager, release=private, services=[pushed_slo.service])
    for release in (public, private):
        Deployment.objects.create(
            environment=prod,
            release=release,
            version=release.version,
            deployed_at=now - timedelta(days=2),
            finished_at=now - timedelta(days=2),
            outcome=DeploymentOutcome.SUCCEEDED,
        )
    data = as_user(outsider).get(f"{URL}{pushed_slo.pk}/series/").data
    assert [(d["version"], d["environment"]) for d in data["deployments"]] == [("4.2.0", "prod")]
    assert "Vault" not in str(data)
    seen = as_user(manager).get(f"{URL}{pushed_slo.pk}/series/").data
    assert sorted(d["version"] for d in seen["deployments"]) == ["1.0.0", "4.2.0"]


def test_the_objective_is_shown_with_four_decimals(as_user, manager, payments_api):
    response = create(as_user(manager), objective=Decimal("99.99"))
    assert response.data["objective"] == "99.9900"
