"""The services API (`/api/v1/services/`) and the services a release touches
(`/api/v1/releases/{id}/services/`): who may create and change them, what a private team's
services look like to others (nothing), bad input, and a fixed number of queries per list."""

# The fixtures come from api_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import AuditEvent
from reliability import services
from reliability.models import Service

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

URL = "/api/v1/services/"


def create(client, **body):
    body.setdefault("name", "Ledger")
    body.setdefault("team", "payments")
    return client.post(URL, body, format="json")


# --- Creating and changing ---------------------------------------------------------------------


def test_a_team_member_adds_a_service_of_their_team(as_user, alice):
    response = create(as_user(alice), description="Double-entry bookkeeping.")
    assert response.status_code == 201, response.data
    assert response.data["slug"] == "ledger"
    assert response.data["team"] == "payments"
    assert response.data["url"] == "/reliability/ledger/"
    assert Service.objects.get(slug="ledger").team.slug == "payments"
    event = last_event()
    assert (event.action, event.actor_name, event.after["name"]) == (
        "service.create",
        "Alice",
        "Ledger",
    )


@pytest.mark.parametrize("persona", ["manager", "sre", "admin"])
def test_release_managers_sre_and_admins_add_services_of_any_team(request, as_user, persona):
    user = request.getfixturevalue(persona)
    request.getfixturevalue("payments")
    assert create(as_user(user)).status_code == 201


@pytest.mark.parametrize("persona", ["outsider", "bob"])
def test_others_may_not_add_a_service_to_a_team(request, as_user, payments, stored, persona):
    client = as_user(request.getfixturevalue(persona))
    before = stored()
    response = create(client)
    assert response.status_code == 403
    assert "Only members of Payments" in response.data["detail"]
    assert stored() == before


def test_an_unknown_team_is_a_400_naming_the_field(as_user, manager, stored):
    before = stored()
    response = create(as_user(manager), team="nope")
    assert response.status_code == 400
    assert list(response.data) == ["team"]
    assert stored() == before


def test_a_private_team_is_unknown_to_whoever_may_not_see_it(as_user, outsider, secret):
    hidden_answer = create(as_user(outsider), team="vault").data
    missing_answer = create(as_user(outsider), team="nope").data
    assert hidden_answer["team"] == [m.replace("nope", "vault") for m in missing_answer["team"]]


def test_a_member_of_a_private_team_adds_its_services(as_user, maya, secret):
    assert create(as_user(maya), team="vault").status_code == 201


def test_a_duplicate_name_is_a_400_naming_the_field(as_user, manager, payments_api, stored):
    before = stored()
    response = create(as_user(manager), name="Payments API", slug="other")
    assert response.status_code == 400
    assert "name" in response.data
    assert stored() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"objectve": "99"}, "objectve", id="unknown"),
        pytest.param({"slos": []}, "slos", id="read-only"),
        pytest.param({"id": 7}, "id", id="id"),
    ],
)
def test_a_field_the_resource_does_not_take_is_refused_by_name(
    as_user, manager, payments, stored, body, field
):
    before = stored()
    response = create(as_user(manager), **body)
    assert response.status_code == 400
    assert list(response.data) == [field]
    assert stored() == before


def test_a_member_renames_a_service_and_the_change_is_audited(as_user, alice, payments_api):
    response = as_user(alice).patch(f"{URL}payments-api/", {"description": "Cards."})
    assert response.status_code == 200, response.data
    event = last_event()
    assert (event.action, event.before, event.after) == (
        "service.update",
        {"description": ""},
        {"description": "Cards."},
    )


def test_moving_a_service_needs_the_right_to_both_teams(as_user, alice, search, payments_api):
    response = as_user(alice).patch(f"{URL}payments-api/", {"team": "search"})
    assert response.status_code == 403
    assert Service.objects.get(pk=payments_api.pk).team.slug == "payments"


@pytest.mark.parametrize("persona", ["outsider", "bob"])
def test_others_may_not_change_or_delete_a_service(request, as_user, payments_api, persona):
    client = as_user(request.getfixturevalue(persona))
    assert client.patch(f"{URL}payments-api/", {"description": "x"}).status_code == 403
    assert client.delete(f"{URL}payments-api/").status_code == 403
    assert Service.objects.filter(pk=payments_api.pk).exists()


def test_a_member_deletes_a_service_with_its_slos(as_user, alice, pushed_slo):
    response = as_user(alice).delete(f"{URL}payments-api/")
    assert response.status_code == 204
    assert not Service.objects.exists()
    assert last_event().before["slos"] == ["availability"]


def test_put_is_not_offered(as_user, manager, payments_api):
    response = as_user(manager).put(f"{URL}payments-api/", {"name": "x", "team": "payments"})
    assert response.status_code == 405


# --- Reading -----------------------------------------------------------------------------------


def test_everyone_signed_in_reads_a_public_teams_services_with_their_slos(
    as_user, outsider, pushed_slo
):
    response = as_user(outsider).get(URL)
    assert response.status_code == 200
    [service] = response.data["results"]
    assert service["slug"] == "payments-api"
    assert service["slos"][0]["name"] == "availability"
    assert service["slos"][0]["state"] == "no_data"


def test_the_api_needs_a_signed_in_user(client, payments_api):
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize("persona", ["outsider", "bob", "alice"])
def test_a_private_teams_service_is_invisible_to_others(request, as_user, hidden, persona):
    client = as_user(request.getfixturevalue(persona))
    assert client.get(URL).data["count"] == 0
    assert client.get(URL, {"team": "vault"}).data["count"] == 0
    assert client.get(f"{URL}vault-api/").status_code == 404
    assert client.get(f"{URL}vault-api/").data == client.get(f"{URL}nope/").data
    assert client.patch(f"{URL}vault-api/", {"description": "x"}).status_code == 404


@pytest.mark.parametrize("persona", ["maya", "manager", "sre", "admin"])
def test_members_managers_sre_and_admins_see_a_private_teams_service(
    request, as_user, hidden, persona
):
    client = as_user(request.getfixturevalue(persona))
    assert [s["slug"] for s in client.get(URL).data["results"]] == ["vault-api"]


def test_the_list_filters_by_team_and_slo_state(as_user, manager, search, pushed_slo):
    services.service_create(actor=manager, team=search, name="Search API")
    client = as_user(manager)
    assert [s["slug"] for s in client.get(URL, {"team": "search"}).data["results"]] == [
        "search-api"
    ]
    assert [s["slug"] for s in client.get(URL, {"state": "no_data"}).data["results"]] == [
        "payments-api"
    ]
    assert client.get(URL, {"state": "sideways"}).status_code == 400


def test_the_list_runs_the_same_number_of_queries_for_3_services_as_for_30(
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


# --- The services a release touches --------------------------------------------------------------


def touched(client, release) -> list[tuple[str, str]]:
    response = client.get(f"/api/v1/releases/{release.pk}/services/")
    assert response.status_code == 200, response.data
    return [(row["slug"], row["because"]) for row in response.data]


def test_a_release_naming_no_service_touches_its_teams(as_user, outsider, make_release, manager):
    services.service_create(actor=manager, team=make_release().team, name="Ledger")
    release = make_release()
    payments_services = Service.objects.filter(team=release.team)
    assert payments_services.count() == 1
    assert touched(as_user(outsider), release) == [("ledger", "team")]


def test_the_team_names_the_services_its_release_touches(
    as_user, alice, make_release, manager, search, payments_api
):
    search_api = services.service_create(actor=manager, team=search, name="Search API")
    release = make_release()
    client = as_user(alice)
    response = client.post(
        f"/api/v1/releases/{release.pk}/services/",
        {"services": ["search-api", "payments-api"]},
        format="json",
    )
    assert response.status_code == 200, response.data
    assert [row["slug"] for row in response.data] == ["payments-api", "search-api"]
    assert set(release.services.all()) == {payments_api, search_api}
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.release_id, event.after) == (
        "release.services.set",
        release.pk,
        {"services": ["payments-api", "search-api"]},
    )
    client.post(f"/api/v1/releases/{release.pk}/services/", {"services": []}, format="json")
    assert touched(client, release) == [("payments-api", "team")]


@pytest.mark.parametrize("persona", ["outsider", "bob"])
def test_others_may_not_say_which_services_a_release_touches(
    request, as_user, make_release, payments_api, persona
):
    release = make_release()
    response = as_user(request.getfixturevalue(persona)).post(
        f"/api/v1/releases/{release.pk}/services/", {"services": ["payments-api"]}, format="json"
    )
    assert response.status_code == 403
    assert not release.services.exists()


def test_a_service_the_user_may_not_see_is_unknown_and_stays_linked(
    as_user, alice, manager, make_release, hidden, payments_api
):
    release = make_release()
    services.release_services_set(actor=manager, release=release, services=[hidden])
    client = as_user(alice)
    url = f"/api/v1/releases/{release.pk}/services/"
    refused = client.post(url, {"services": ["vault-api"]}, format="json")
    missing = client.post(url, {"services": ["nope"]}, format="json")
    assert refused.status_code == missing.status_code == 400
    assert str(refused.data).replace("vault-api", "nope") == str(missing.data)
    # Alice sees none of the services Payments' release names; naming hers keeps the other.
    assert touched(client, release) == []
    assert client.post(url, {"services": ["payments-api"]}, format="json").status_code == 200
    assert set(release.services.all()) == {hidden, payments_api}
    assert "vault" not in str(client.get(url).data)


def test_a_release_the_user_may_not_see_is_404(as_user, outsider, make_release, secret):
    release = make_release(team=secret)
    url = f"/api/v1/releases/{release.pk}/services/"
    assert as_user(outsider).get(url).status_code == 404
    assert as_user(outsider).post(url, {"services": []}, format="json").status_code == 404


def test_an_unknown_key_in_the_release_services_body_is_refused(as_user, alice, make_release):
    release = make_release()
    response = as_user(alice).post(
        f"/api/v1/releases/{release.pk}/services/", {"service": ["x"]}, format="json"
    )
    assert response.status_code == 400
    assert "Unknown field" in response.data["service"][0]
