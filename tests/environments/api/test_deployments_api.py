"""The deployments API as a pipeline uses it: start, steps, finish, rollback; retries that
answer with the same deployment; 400/403/409 with nothing stored; the release following a
production deployment; filters, private releases and a list whose cost does not grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.readiness import services as readiness
from environments import services
from environments.models import Deployment

URL = "/api/v1/deployments/"

pytestmark = pytest.mark.django_db


def post(client, url: str, data: dict | None = None):
    return client.post(url, data or {}, format="json")


def started(client, **data):
    body = {"environment": "staging", "version": "4.3.0", "outcome": "in_progress"} | data
    response = post(client, URL, body)
    assert response.status_code == 201, response.data
    return response.data


def build(release, actor, version="4.3.0-rc.1"):
    return readiness.candidate_report(
        actor=actor,
        release=release,
        version=version,
        commit_sha="abcdef1",
        artifact_digest="sha256:" + "b" * 64,
    )


# --- The pipeline's calls -------------------------------------------------------------------------


def test_a_pipeline_starts_steps_and_finishes_a_canary(as_user, alice, staging, make_release):
    release = make_release(name="Payments 4.3", version="4.3.0")
    candidate = build(release, alice)
    client = as_user(alice)
    deployment = started(
        client,
        release=release.pk,
        candidate=candidate.pk,
        version="",
        strategy="canary",
        planned_steps=[5, 25, 100],
        client_id="pipeline-812",
    )
    assert deployment["in_progress"] and deployment["outcome"] == "in_progress"
    assert deployment["version"] == "4.3.0-rc.1"
    assert (deployment["candidate"], deployment["candidate_version"]) == (
        candidate.pk,
        "4.3.0-rc.1",
    )
    assert deployment["planned_steps"] == [5, 25, 100]
    for percent in (5, 25, 100):
        response = post(client, f"{URL}{deployment['id']}/steps/", {"percent": percent})
        assert response.status_code == 200, response.data
    response = post(client, f"{URL}{deployment['id']}/finish/", {"outcome": "succeeded"})
    assert response.status_code == 200, response.data

    detail = client.get(f"{URL}{deployment['id']}/").data
    assert [step["percent"] for step in detail["steps"]] == [5, 25, 100]
    assert all(step["at"] for step in detail["steps"])
    assert (detail["outcome"], detail["in_progress"]) == ("succeeded", False)
    assert detail["finished_at"] is not None and detail["deployed_by"] == "alice"
    assert (detail["release_name"], detail["rollback_of"], detail["rollbacks"]) == (
        "Payments 4.3",
        None,
        [],
    )
    current = client.get("/api/v1/environments/staging/").data["current_deployment"]
    assert current["id"] == deployment["id"]


def test_a_start_sent_again_answers_200_with_the_same_deployment(as_user, alice, staging):
    client = as_user(alice)
    first = started(client, client_id="pipeline-812")
    again = post(
        client,
        URL,
        {
            "environment": "staging",
            "version": "4.3.0",
            "outcome": "in_progress",
            "client_id": "pipeline-812",
        },
    )
    assert again.status_code == 200, again.data
    assert again.data["id"] == first["id"]
    assert Deployment.objects.count() == 1


def test_a_client_id_of_another_deployment_is_a_409_naming_it(as_user, alice, staging, qa):
    client = as_user(alice)
    first = started(client, client_id="pipeline-812")
    response = post(client, URL, {"environment": "qa", "version": "1", "client_id": "pipeline-812"})
    assert response.status_code == 409
    assert f"deployment #{first['id']}" in response.data["detail"]
    assert response.data["deployment"]["id"] == first["id"]
    assert Deployment.objects.count() == 1


def test_a_report_without_outcome_means_it_runs_there_now(as_user, alice, staging):
    response = post(as_user(alice), URL, {"environment": "staging", "version": "4.3.0"})
    assert response.status_code == 201, response.data
    assert response.data["outcome"] == "succeeded"
    assert response.data["finished_at"] == response.data["deployed_at"]


def test_a_report_of_one_that_is_over_keeps_its_times(as_user, alice, staging):
    response = post(
        as_user(alice),
        URL,
        {
            "environment": "staging",
            "version": "4.3.0",
            "outcome": "failed",
            "deployed_at": "2026-03-02T13:05:00+01:00",
            "finished_at": "2026-03-02T12:09:30Z",
            "note": "Migrations timed out",
        },
    )
    assert response.status_code == 201, response.data
    assert (response.data["deployed_at"], response.data["finished_at"]) == (
        "2026-03-02T12:05:00Z",
        "2026-03-02T12:09:30Z",
    )
    assert response.data["outcome"] == "failed"


def test_a_rollback_is_started_and_undoes_the_deployment_when_it_succeeds(as_user, alice, staging):
    services.deployment_report(actor=alice, environment=staging, version="4.2.0")
    deployment = services.deployment_report(actor=alice, environment=staging, version="4.3.0")
    client = as_user(alice)
    response = post(client, f"{URL}{deployment.pk}/rollback/", {"client_id": "rb-1"})
    assert response.status_code == 201, response.data
    rollback = response.data
    assert (rollback["version"], rollback["rollback_of"], rollback["outcome"]) == (
        "4.2.0",
        deployment.pk,
        "in_progress",
    )
    again = post(client, f"{URL}{deployment.pk}/rollback/", {"client_id": "rb-1"})
    assert (again.status_code, again.data["id"]) == (200, rollback["id"])
    assert (
        post(client, f"{URL}{rollback['id']}/finish/", {"outcome": "succeeded"}).status_code == 200
    )

    undone = client.get(f"{URL}{deployment.pk}/").data
    assert (undone["outcome"], undone["rollbacks"]) == ("rolled_back", [rollback["id"]])


def test_a_retried_finish_or_step_answers_200_and_changes_nothing(as_user, alice, staging):
    client = as_user(alice)
    deployment = started(client, strategy="canary")
    for _ in range(2):
        response = post(client, f"{URL}{deployment['id']}/steps/", {"percent": 10})
        assert response.status_code == 200 and len(response.data["steps"]) == 1
    for _ in range(2):
        response = post(client, f"{URL}{deployment['id']}/finish/", {"outcome": "failed"})
        assert response.status_code == 200 and response.data["outcome"] == "failed"


# --- Refusals: 400 and 409, nothing stored ------------------------------------------------------


def test_a_second_running_deployment_is_a_409_naming_the_running_one(
    as_user, alice, bob, staging, stored
):
    running = started(as_user(alice), version="4.3.0")
    before = stored()
    response = post(
        as_user(bob), URL, {"environment": "staging", "version": "9", "outcome": "in_progress"}
    )
    assert response.status_code == 409
    assert response.data["detail"].startswith("staging has a deployment in progress: 4.3.0, ")
    assert "started by alice" in response.data["detail"]
    assert f"(deployment #{running['id']})" in response.data["detail"]
    assert response.data["deployment"]["id"] == running["id"]
    assert stored() == before


def test_a_step_after_the_finish_is_a_409(as_user, alice, staging, stored):
    client = as_user(alice)
    deployment = started(client)
    post(client, f"{URL}{deployment['id']}/finish/", {"outcome": "succeeded"})
    before = stored()
    response = post(client, f"{URL}{deployment['id']}/steps/", {"percent": 50})
    assert response.status_code == 409
    assert "finished at" in response.data["detail"]
    assert stored() == before


def test_a_finish_of_a_deployment_that_never_started_is_a_409(as_user, alice, staging, stored):
    over = services.deployment_report(actor=alice, environment=staging, version="1")
    before = stored()
    response = post(as_user(alice), f"{URL}{over.pk}/finish/", {"outcome": "failed"})
    assert response.status_code == 409
    assert f"Deployment #{over.pk} (1 to staging) is over" in response.data["detail"]
    assert stored() == before


def test_a_finish_of_an_unknown_deployment_is_a_404(as_user, alice, staging):
    response = post(as_user(alice), f"{URL}999/finish/", {"outcome": "succeeded"})
    assert response.status_code == 404


def test_finishing_as_rolled_back_is_refused_naming_the_outcome(as_user, alice, staging, stored):
    client = as_user(alice)
    deployment = started(client)
    before = stored()
    response = post(client, f"{URL}{deployment['id']}/finish/", {"outcome": "rolled_back"})
    assert response.status_code == 400
    assert "rollback of it succeeds" in response.data["outcome"][0]
    assert stored() == before


def test_a_rollback_of_another_environment_s_deployment_is_a_400(
    as_user, alice, staging, qa, stored
):
    theirs = services.deployment_report(actor=alice, environment=qa, version="2")
    before = stored()
    response = post(
        as_user(alice),
        URL,
        {
            "environment": "staging",
            "version": "1",
            "outcome": "in_progress",
            "rollback_of": theirs.pk,
        },
    )
    assert response.status_code == 400
    assert "ran on qa, not on staging" in response.data["rollback_of"][0]
    assert stored() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"strategy": "canary", "planned_steps": [50, 10, 100]}, "planned_steps"),
        ({"strategy": "canary", "planned_steps": "lots"}, "planned_steps"),
        ({"strategy": "big_bang", "planned_steps": [100]}, "planned_steps"),
        ({"strategy": "yolo"}, "strategy"),
        ({"outcome": "rolled_back"}, "outcome"),
        ({"deployed_at": "2026-01-01T10:00:00Z"}, "deployed_at"),
        ({"environment": "nowhere"}, "environment"),
        ({"release": 999}, "release"),
        ({"candidate": 999}, "candidate"),
        ({"rollback_of": 999}, "rollback_of"),
        ({"client_id": "x" * 101}, "client_id"),
        ({"version": ""}, "version"),
        ({"move_release": "perhaps"}, "move_release"),
    ],
)
def test_a_bad_start_is_a_400_naming_the_field(as_user, alice, staging, stored, body, field):
    before = stored()
    data = {"environment": "staging", "version": "1", "outcome": "in_progress"} | body
    response = post(as_user(alice), URL, data)
    assert response.status_code == 400, response.data
    assert field in response.data, response.data
    assert stored() == before


@pytest.mark.parametrize("percent", [0, 101, -1, "many", None])
def test_a_bad_step_is_a_400_naming_percent(as_user, alice, staging, stored, percent):
    client = as_user(alice)
    deployment = started(client, strategy="rolling")
    before = stored()
    response = post(client, f"{URL}{deployment['id']}/steps/", {"percent": percent})
    assert response.status_code == 400, response.data
    assert "percent" in response.data
    assert stored() == before


# --- The release follows production -------------------------------------------------------------


def test_production_moves_the_release_to_deploying_then_released(
    as_user, manager, prod, release_in
):
    release = release_in("approved")
    client = as_user(manager)
    deployment = started(client, environment="prod", release=release.pk, version="")
    assert client.get(f"/api/v1/releases/{release.pk}/").data["state"] == "deploying"
    post(client, f"{URL}{deployment['id']}/finish/", {"outcome": "succeeded"})
    assert client.get(f"/api/v1/releases/{release.pk}/").data["state"] == "released"


def test_a_production_rollback_moves_the_release_to_rolled_back(as_user, manager, prod, release_in):
    services.deployment_report(actor=manager, environment=prod, version="4.2.0")
    release = release_in("approved")
    client = as_user(manager)
    shipped = post(client, URL, {"environment": "prod", "release": release.pk}).data
    rollback = post(client, f"{URL}{shipped['id']}/rollback/", {"note": "5xx"}).data
    post(client, f"{URL}{rollback['id']}/finish/", {"outcome": "succeeded"})
    release.refresh_from_db()
    assert release.state == "rolled_back"


def test_move_release_false_leaves_the_release_alone(as_user, alice, prod, release_in):
    release = release_in("approved")
    client = as_user(alice)
    refused = post(
        client, URL, {"environment": "prod", "release": release.pk, "outcome": "in_progress"}
    )
    assert refused.status_code == 403
    assert "move_release to false" in refused.data["detail"]
    deployment = started(client, environment="prod", release=release.pk, move_release=False)
    post(client, f"{URL}{deployment['id']}/finish/", {"outcome": "succeeded"})
    release.refresh_from_db()
    assert release.state == "approved"


def test_a_rehearsal_outside_production_sets_the_rehearsal_day(
    as_user, alice, staging, make_release
):
    release = make_release()
    services.deployment_report(actor=alice, environment=staging, version="0.9")
    client = as_user(alice)
    deployment = post(client, URL, {"environment": "staging", "release": release.pk}).data
    rollback = post(client, f"{URL}{deployment['id']}/rollback/").data
    post(client, f"{URL}{rollback['id']}/finish/", {"outcome": "succeeded"})
    release.refresh_from_db()
    assert release.rollback_rehearsed_on == timezone.localdate()


# --- Filters and the list ------------------------------------------------------------------------


def test_the_list_filters_by_release_environment_outcome_and_running(
    as_user, alice, staging, qa, make_release
):
    release = make_release()
    client = as_user(alice)
    ran = services.deployment_report(actor=alice, environment=qa, version="1", release=release)
    failed = services.deployment_record(
        actor=alice, environment=staging, version="2", outcome="failed"
    )
    running = services.deployment_start(actor=alice, environment=staging, version="3")

    def ids(**params) -> list[int]:
        response = client.get(URL, params)
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.data["results"]]

    assert ids(release=release.pk) == [ran.pk]
    assert ids(environment="staging") == [running.pk, failed.pk]
    assert ids(outcome="failed") == [failed.pk]
    assert ids(outcome=["failed", "succeeded"]) == [failed.pk, ran.pk]
    assert ids(in_progress="true") == [running.pk]
    assert ids(in_progress="false") == [failed.pk, ran.pk]


def test_the_list_costs_the_same_queries_for_3_and_30_deployments(
    as_user, alice, staging, qa, make_release
):
    release = make_release()
    candidate = build(release, alice)

    def add(count: int) -> None:
        for n in range(count):
            environment = staging if n % 2 else qa
            services.deployment_report(actor=alice, environment=environment, version=f"0.{n}")
            done = services.deployment_record(
                actor=alice, environment=environment, candidate=candidate, version=f"1.{n}"
            )
            services.deployment_finish(
                actor=alice,
                deployment=services.deployment_rollback(actor=alice, deployment=done),
                outcome="succeeded",
            )

    def count() -> int:
        client = as_user(alice)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"page_size": 100})
        assert response.status_code == 200
        return len(queries.captured_queries)

    add(1)
    few = count()
    add(10)
    assert Deployment.objects.count() == 33
    assert count() == few
    assert few <= 8  # auth, count, page, rollbacks and the reader's visibility


# --- Who may: the outsider on every endpoint, anonymous, private releases -------------------------


@pytest.fixture
def world(alice, staging, qa):
    services.deployment_report(actor=alice, environment=staging, version="1")
    over = services.deployment_report(actor=alice, environment=staging, version="2")
    running = services.deployment_start(actor=alice, environment=qa, version="3")
    return {"over": over, "running": running}


WRITES = {
    "start": lambda w: (URL, {"environment": "staging", "version": "9", "outcome": "in_progress"}),
    "report": lambda w: (URL, {"environment": "staging", "version": "9"}),
    "step": lambda w: (f"{URL}{w['running'].pk}/steps/", {"percent": 50}),
    "finish": lambda w: (f"{URL}{w['running'].pk}/finish/", {"outcome": "succeeded"}),
    "rollback": lambda w: (f"{URL}{w['over'].pk}/rollback/", {}),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_an_outsider_is_refused_every_write_and_nothing_changes(
    as_user, outsider, world, stored, write
):
    url, data = WRITES[write](world)
    before = stored()
    response = post(as_user(outsider), url, data)
    assert response.status_code == 403, response.data
    assert stored() == before


@pytest.mark.parametrize("write", list(WRITES))
def test_anonymous_clients_get_401_on_every_write(world, stored, write):
    url, data = WRITES[write](world)
    before = stored()
    assert post(APIClient(), url, data).status_code == 401
    assert stored() == before


def test_an_outsider_reads_the_deployments_like_anyone_signed_in(as_user, outsider, world):
    client = as_user(outsider)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}{world['over'].pk}/").status_code == 200
    assert APIClient().get(URL).status_code == 401


def test_a_private_release_is_not_named_nor_filterable_for_an_outsider(
    as_user, outsider, alice, staging, payments, make_release
):
    payments.is_private = True
    payments.save()
    release = make_release(name="Secret 1.0")
    candidate = build(release, alice, version="1.0-rc.1")
    deployment = services.deployment_start(
        actor=alice, environment=staging, candidate=candidate, client_id="secret-run"
    )
    client = as_user(outsider)
    row = client.get(URL).data["results"][0]
    detail = client.get(f"{URL}{deployment.pk}/").data
    for shown in (row, detail):
        assert [
            shown[k] for k in ("release", "release_name", "candidate", "candidate_version")
        ] == [None] * 4
    assert client.get(URL, {"release": release.pk}).status_code == 400
    refused = post(client, URL, {"environment": "staging", "release": release.pk})
    assert refused.status_code == 400 and "does not exist" in refused.data["release"][0]
    assert "Secret" not in str(client.get(URL).content)


def test_a_team_member_may_not_act_on_a_deployment_of_a_release_they_cannot_see(
    as_user, alice, bob, staging, payments, make_release, stored
):
    payments.is_private = True
    payments.save()
    deployment = services.deployment_start(
        actor=alice, environment=staging, release=make_release(name="Secret 1.0")
    )
    before = stored()
    client = as_user(bob)
    for url, data in (
        (f"{URL}{deployment.pk}/steps/", {"percent": 5}),
        (f"{URL}{deployment.pk}/finish/", {"outcome": "failed"}),
    ):
        response = post(client, url, data)
        assert response.status_code == 403
        assert "Secret" not in response.data["detail"]
    assert stored() == before


def test_a_pipeline_says_a_deployment_is_a_hotfix(as_user, alice, staging):
    """The flag the delivery metrics read: the change it fixes counts as failed."""
    client = as_user(alice)
    response = post(client, URL, {"environment": "staging", "version": "4.3.1", "hotfix": True})
    assert response.status_code == 201, response.data
    assert response.data["hotfix"] is True
    assert Deployment.objects.get(pk=response.data["id"]).hotfix
    plain = post(client, URL, {"environment": "staging", "version": "4.3.2"})
    assert plain.data["hotfix"] is False
