"""``/api/v1/incidents/``: open (idempotent by `external_id`), resolve and name the cause,
list with filters and detail, delete; permissions with every persona, private teams invisible,
and a fixed number of queries per list."""

# The fixtures come from incident_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery import incidents
from delivery.models import Incident, ProductionChange

from .incident_fixtures import (  # noqa: F401  (fixtures)
    HOUR,
    as_user,
    deploy,
    maya,
    payments_api,
    payments_deployment,
    payments_release,
    prod,
    search_api,
    sre,
    stored,
    vault,
    vault_api,
    vault_release,
)

URL = "/api/v1/incidents/"


def at(hours_ago: float) -> str:
    return (timezone.now() - timedelta(hours=hours_ago)).isoformat()


def body(**fields) -> dict:
    return {"title": "Card payments failing", "services": ["payments-api"], **fields}


def make(actor, services, **fields) -> Incident:
    fields.setdefault("title", "Search is slow")
    fields.setdefault("opened_at", timezone.now() - 2 * HOUR)
    return incidents.incident_open(actor=actor, services=services, **fields)


# --- Opening -------------------------------------------------------------------------------------


def test_it_opens_an_incident(as_user, alice, payments_api):
    response = as_user(alice).post(
        URL, body(severity="sev2", opened_at=at(1), url="https://pd.example/i/1"), format="json"
    )
    assert response.status_code == 201, response.data
    data = response.json()
    assert data["services"] == [
        {"slug": "payments-api", "name": "Payments API", "team": "payments"}
    ]
    assert (data["severity"], data["open"], data["reported_by"]) == ("sev2", True, "alice")
    assert Incident.objects.get().title == "Card payments failing"


def test_opened_at_defaults_to_now(as_user, alice, payments_api):
    before = timezone.now()
    response = as_user(alice).post(URL, body(), format="json")
    assert Incident.objects.get(pk=response.json()["id"]).opened_at >= before


def test_sending_the_same_external_id_again_answers_200_with_the_same_incident(
    as_user, alice, payments_api
):
    client = as_user(alice)
    first = client.post(URL, body(external_id="INC-7", opened_at=at(2)), format="json")
    again = client.post(
        URL, body(external_id="INC-7", opened_at=at(2), resolved_at=at(1)), format="json"
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["open"] is False
    assert Incident.objects.count() == 1


def test_an_outsider_cannot_open_an_incident(as_user, outsider, payments_api, stored):
    before = stored()
    response = as_user(outsider).post(URL, body(), format="json")
    assert response.status_code == 403
    assert stored() == before


def test_signed_out_is_refused(api, payments_api):
    assert api.post(URL, body(), format="json").status_code in (401, 403)
    assert api.get(URL).status_code in (401, 403)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"services": ["no-such-service"]}, "services"),
        ({"services": []}, "services"),
        ({"opened_at": "2026-11-01T10:00:00"}, "opened_at"),
        (
            {"opened_at": "2026-11-01T10:00:00Z", "resolved_at": "2026-11-01T09:00:00Z"},
            "resolved_at",
        ),
        ({"severity": "critical"}, "severity"),
        ({"deployment": 999_999}, "deployment"),
        ({"sevrity": "sev1"}, "sevrity"),
        ({"title": "x\x00y"}, "title"),
        ({"services": ["payments\x00api"]}, "services"),
    ],
    ids=[
        "unknown-service",
        "no-service",
        "naive-time",
        "resolved-before-opened",
        "severity",
        "unknown-deployment",
        "unknown-key",
        "nul",
        "nul-in-a-slug",
    ],
)
def test_it_refuses_bad_input_with_a_400_naming_the_field(
    as_user, alice, payments_api, stored, fields, field
):
    before = stored()
    response = as_user(alice).post(URL, body(**fields), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert stored() == before


def test_a_private_service_is_the_same_400_as_a_missing_one(as_user, alice, vault_api):
    hidden = as_user(alice).post(URL, body(services=["vault-api"]), format="json")
    missing = as_user(alice).post(URL, body(services=["nowhere"]), format="json")
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == {"services": {"0": ["Object with slug=vault-api does not exist."]}}
    assert missing.json() == {"services": {"0": ["Object with slug=nowhere does not exist."]}}


def test_naming_another_teams_deployment_is_403_and_stores_nothing(
    as_user, bob, search_api, payments_deployment, stored
):
    before = stored()
    response = as_user(bob).post(
        URL, body(services=["search-api"], deployment=payments_deployment.pk), format="json"
    )
    assert response.status_code == 403
    assert "Only members of Payments" in response.json()["detail"]
    assert stored() == before


# --- Changing ------------------------------------------------------------------------------------


def test_it_resolves_an_incident(as_user, alice, payments_api):
    incident = make(alice, [payments_api])
    response = as_user(alice).patch(f"{URL}{incident.pk}/", {"resolved_at": at(1)}, format="json")
    assert response.status_code == 200, response.data
    assert response.json()["open"] is False
    assert response.json()["restore_seconds"] == pytest.approx(3600, abs=5)


def test_it_names_the_cause_later_and_the_change_fails(
    as_user, alice, payments_api, payments_deployment
):
    incident = make(alice, [payments_api])
    response = as_user(alice).patch(
        f"{URL}{incident.pk}/", {"deployment": payments_deployment.pk}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.json()["caused_by_change"] is True
    assert ProductionChange.objects.get(deployment=payments_deployment).failed


def test_another_team_cannot_set_our_deployment_as_the_cause(
    as_user, bob, search_api, payments_deployment, stored
):
    incident = make(bob, [search_api])
    before = stored()
    response = as_user(bob).patch(
        f"{URL}{incident.pk}/", {"deployment": payments_deployment.pk}, format="json"
    )
    assert response.status_code == 403
    assert stored() == before


def test_an_outsider_cannot_change_an_incident_they_see(as_user, alice, outsider, payments_api):
    incident = make(alice, [payments_api])
    response = as_user(outsider).patch(f"{URL}{incident.pk}/", {"title": "Mine"}, format="json")
    assert response.status_code == 403


def test_the_external_id_is_read_only(as_user, alice, payments_api):
    incident = make(alice, [payments_api])
    response = as_user(alice).patch(f"{URL}{incident.pk}/", {"external_id": "X"}, format="json")
    assert response.status_code == 400
    assert "external_id" in response.json()


def test_put_is_not_offered(as_user, alice, payments_api):
    incident = make(alice, [payments_api])
    assert as_user(alice).put(f"{URL}{incident.pk}/", body(), format="json").status_code == 405


def test_an_outsider_cannot_delete_an_incident(as_user, alice, outsider, payments_api):
    incident = make(alice, [payments_api])
    assert as_user(outsider).delete(f"{URL}{incident.pk}/").status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_only_release_managers_delete(as_user, alice, manager, payments_api):
    incident = make(alice, [payments_api])
    assert as_user(alice).delete(f"{URL}{incident.pk}/").status_code == 403
    assert as_user(manager).delete(f"{URL}{incident.pk}/").status_code == 204
    assert not Incident.objects.exists()


# --- Reading -------------------------------------------------------------------------------------


def test_a_private_teams_incident_is_invisible_to_an_outsider(
    as_user, outsider, maya, alice, payments_api, vault_api
):
    hidden = make(maya, [vault_api], title="Vault down")
    make(alice, [payments_api], title="Payments slow")
    listed = as_user(outsider).get(URL).json()
    assert [row["title"] for row in listed["results"]] == ["Payments slow"]
    assert as_user(outsider).get(f"{URL}{hidden.pk}/").status_code == 404
    assert as_user(outsider).patch(f"{URL}{hidden.pk}/", {"title": "x"}).status_code == 404
    assert as_user(maya).get(f"{URL}{hidden.pk}/").status_code == 200


def test_an_incident_naming_a_private_service_too_is_invisible(
    as_user, outsider, manager, payments_api, vault_api
):
    make(manager, [payments_api, vault_api])
    assert as_user(outsider).get(URL).json()["count"] == 0


def test_a_private_release_named_as_cause_stays_unnamed(
    as_user, outsider, manager, alice, payments_api, vault_release
):
    incident = make(manager, [payments_api], release=vault_release)
    seen = as_user(outsider).get(f"{URL}{incident.pk}/").json()
    assert (seen["release"], seen["release_name"], seen["caused_by_change"]) == (None, None, True)
    assert as_user(manager).get(f"{URL}{incident.pk}/").json()["release"] == vault_release.pk


@pytest.fixture
def several(alice, bob, manager, payments_api, search_api, payments_deployment):
    """Payments: one open caused by its deployment, one resolved; Search: one open."""
    return {
        "caused": make(alice, [payments_api], title="Caused", deployment=payments_deployment),
        "resolved": make(
            alice, [payments_api], title="Resolved", resolved_at=timezone.now() - HOUR
        ),
        "search": make(bob, [search_api], title="Search"),
    }


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("team=payments", {"Caused", "Resolved"}),
        ("team=search", {"Search"}),
        ("service=search-api", {"Search"}),
        ("open=true", {"Caused", "Search"}),
        ("open=false", {"Resolved"}),
        ("caused_by_change=true", {"Caused"}),
        ("caused_by_change=false", {"Resolved", "Search"}),
        ("team=nowhere", set()),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_the_list_filters(as_user, outsider, several, query, titles):
    listed = as_user(outsider).get(f"{URL}?{query}").json()["results"]
    assert {row["title"] for row in listed} == titles


def test_filtering_by_a_private_team_names_nothing_it_caused(
    as_user, outsider, manager, search_api, vault, vault_release
):
    """An outsider asking for the private team's incidents gets nothing, not even the public
    service's incident its release caused."""
    make(manager, [search_api], release=vault_release)
    assert as_user(outsider).get(f"{URL}?team=vault").json()["count"] == 0
    assert as_user(manager).get(f"{URL}?team=vault").json()["count"] == 1


def test_the_list_runs_a_fixed_number_of_queries(
    as_user, alice, payments_api, search_api, payments_deployment, payments_release
):
    client = as_user(alice)
    make(alice, [payments_api], deployment=payments_deployment)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for number in range(6):
        make(alice, [payments_api, search_api], release=payments_release, title=f"#{number}")
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).json()["count"] == 7
    assert len(many) == len(few)
