"""The readiness of a release for people and dashboards, and the deploy check for pipelines."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from environments.models import Environment
from releases.models import Team

from .conftest import walk


@pytest.fixture
def prod(db) -> Environment:
    return Environment.objects.create(name="Production", slug="prod", kind="prod")


@pytest.fixture
def staging(db) -> Environment:
    return Environment.objects.create(name="Staging", slug="staging", kind="staging")


def test_the_readiness_of_a_release_lists_every_gate(api, alice, ready):
    release = ready()
    response = api.as_user(alice).get(f"/api/v1/releases/{release.pk}/readiness/")
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "GO"
    assert [gate["name"] for gate in body["gates"]] == [
        "checks",
        "signoffs",
        "prerequisites",
        "blockers",
        "rollback",
        "freeze",
        "error_budget",
        "booking",
    ]
    assert {gate["state"] for gate in body["gates"]} == {"pass"}
    assert [g["name"] for g in body["gates"] if g["deployment"]] == [
        "freeze",
        "error_budget",
        "booking",
    ]


def test_a_failing_check_is_no_go_with_its_link(api, alice, ready, check):
    release = ready()
    build = release.candidates.get()
    check(build, "integration-tests", "failed", url="https://ci.example.com/run/12")
    body = api.as_user(alice).get(f"/api/v1/releases/{release.pk}/readiness/").json()
    checks = body["gates"][0]
    assert (body["verdict"], checks["state"], checks["link"]) == (
        "NO-GO",
        "fail",
        "https://ci.example.com/run/12",
    )


def test_readiness_of_a_release_the_reader_may_not_see_is_not_found(api, outsider, make_release):
    release = make_release(team=Team.objects.create(name="Sk", slug="sk", is_private=True))
    assert api.as_user(outsider).get(f"/api/v1/releases/{release.pk}/readiness/").status_code == 404


def test_readiness_costs_the_same_whatever_the_history(
    api, alice, ready, candidate, check, django_assert_num_queries
):
    release = ready()
    url = f"/api/v1/releases/{release.pk}/readiness/"
    client = api.as_user(alice)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        build = candidate(release)
        for name in ("unit-tests", "integration-tests", "lint"):
            check(build, name, "failed")
            check(build, name)
    with django_assert_num_queries(len(few)):
        client.get(url)


# --- The deploy check ------------------------------------------------------------------------


def deploy_check(api, user, **body):
    return api.as_user(user).post("/api/v1/deploy-checks/", body, format="json")


def test_a_go_release_may_deploy_to_production(api, alice, ready, prod, manager):
    release = walk(ready(), manager, "approved")
    response = deploy_check(api, alice, release=release.pk, environment="prod")
    assert response.status_code == 200
    body = response.json()
    assert body["detail"] == f"{release.name} is GO for prod."
    assert body["readiness"]["verdict"] == "GO"


def test_a_no_go_release_is_a_409_naming_what_blocks(api, alice, ready, prod, check):
    release = ready()
    check(release.candidates.get(), "unit-tests", "failed")
    response = deploy_check(
        api, alice, team="payments", version=release.version, environment="prod"
    )
    assert response.status_code == 409
    build = release.candidates.get()
    assert response.json()["detail"] == (
        f"{release.name} is NO-GO for prod: Required checks: unit-tests failed on {build.version}."
    )


def test_other_environments_take_any_build(api, alice, make_release, staging):
    release = make_release()
    response = deploy_check(api, alice, release=release.pk, environment="staging")
    assert response.status_code == 200
    assert response.json()["required"] is False
    assert response.json()["readiness"]["verdict"] == "PENDING"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"environment": "prod"}, "release", id="no-release"),
        pytest.param(
            {"release": 1, "team": "payments", "environment": "prod"}, "release", id="both"
        ),
        pytest.param(
            {"team": "payments", "version": "99.9", "environment": "prod"},
            "version",
            id="unknown-version",
        ),
        pytest.param({"release": 999_999, "environment": "prod"}, "release", id="unknown-release"),
        pytest.param(
            {"release": 1, "environment": "moon"}, "environment", id="unknown-environment"
        ),
    ],
)
def test_bad_deploy_checks_are_400s_naming_the_field(api, alice, prod, make_release, body, field):
    make_release()
    response = deploy_check(api, alice, **body)
    assert response.status_code == 400
    assert field in response.json()


def test_a_private_release_is_answered_as_unknown(api, outsider, prod, make_release):
    private = Team.objects.create(name="Skunkworks", slug="skunk", is_private=True)
    release = make_release(team=private)
    by_id = deploy_check(api, outsider, release=release.pk, environment="prod")
    by_version = deploy_check(
        api, outsider, team="skunk", version=release.version, environment="prod"
    )
    missing = deploy_check(api, outsider, team="skunk", version="0.0", environment="prod")
    assert by_id.status_code == by_version.status_code == missing.status_code == 400
    assert by_version.json()["version"] == [f"No release {release.version} of the team “skunk”."]


def test_anonymous_pipelines_get_401(api, prod):
    assert api.post("/api/v1/deploy-checks/", {"environment": "prod"}).status_code in (401, 403)


@pytest.mark.parametrize("pk", [2**64 + 1, 0, "abc"])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        pytest.param("get", "/api/v1/releases/{pk}/readiness/", id="readiness"),
        pytest.param("get", "/api/v1/releases/{pk}/candidates/", id="candidates"),
        pytest.param("post", "/api/v1/releases/{pk}/candidates/", id="report-build"),
        pytest.param("get", "/api/v1/candidates/{pk}/", id="candidate"),
        pytest.param("post", "/api/v1/candidates/{pk}/checks/", id="report-check"),
    ],
)
def test_hostile_ids_are_404s(api, alice, method, url, pk):
    response = getattr(api.as_user(alice), method)(url.format(pk=pk), {}, format="json")
    assert response.status_code == 404


def test_a_hostile_waiver_candidate_is_a_404_or_400(api, carol):
    client = api.as_user(carol)
    body = {"gate": "checks", "reason": "x", "password": "y"}
    assert client.post("/api/v1/waivers/", {**body, "candidate": 999}).status_code == 404
    assert client.post("/api/v1/waivers/", {**body, "candidate": 2**64}).status_code == 400


def test_deploy_checks_cost_the_same_whatever_the_history(
    api, alice, ready, prod, candidate, check, django_assert_num_queries
):
    release = ready()
    client = api.as_user(alice)
    body = {"release": release.pk, "environment": "prod"}
    client.post("/api/v1/deploy-checks/", body, format="json")
    with CaptureQueriesContext(connection) as few:
        client.post("/api/v1/deploy-checks/", body, format="json")
    for _ in range(5):
        build = candidate(release)
        for name in ("unit-tests", "integration-tests", "lint"):
            check(build, name, "failed")
            check(build, name)
    with django_assert_num_queries(len(few)):
        client.post("/api/v1/deploy-checks/", body, format="json")
