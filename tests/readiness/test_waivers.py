"""Waivers: the change advisory board lets one failing gate through for one candidate, signing
with the password and a reason; a new candidate needs its own."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from approvals.models import AuditEvent, Waiver
from approvals.readiness import services as readiness
from relcal.errors import Conflict
from releases import gates, services
from releases.gates import GateState, Verdict
from tests.conftest import PASSWORD

from .conftest import walk


@pytest.fixture
def failing(ready, check, manager):
    """An approved release whose current candidate failed integration-tests: NO-GO."""
    release = walk(ready(), manager, "approved")
    build = release.candidates.order_by("-id").first()
    check(build, "integration-tests", "failed")
    return release, build


def waive(user, build, gate="checks", reason="Flaky test, fixed in rc.4", password=PASSWORD):
    return readiness.waiver_record(
        actor=user, candidate=build, gate=gate, reason=reason, password=password
    )


def test_a_waiver_lets_the_failing_gate_pass_for_that_candidate(failing, carol, manager):
    release, build = failing
    assert gates.readiness(release).verdict == Verdict.NO_GO
    waiver = waive(carol, build)
    row = gates.readiness(release).row("checks")
    assert row.state == GateState.WAIVED
    assert row.waiver == f"waived by Carol Cab for {build.version}: Flaky test, fixed in rc.4"
    assert gates.readiness(release).verdict == Verdict.GO
    services.release_transition(actor=manager, release=release, to_state="deploying")
    event = AuditEvent.objects.get(action="waiver.record")
    assert (event.release_id, event.after["gate"], event.after["signer"]) == (
        release.pk,
        "checks",
        "Carol Cab",
    )
    assert event.after["digest"] == build.artifact_digest
    assert waiver.signer == carol


def test_a_new_candidate_needs_its_own_waiver(failing, carol, candidate, check):
    release, build = failing
    waive(carol, build)
    newer = candidate(release)
    check(newer, "unit-tests")
    check(newer, "integration-tests", "failed")
    assert gates.readiness(release).row("checks").state == GateState.FAIL


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        pytest.param({"reason": "  "}, ValidationError, "reason", id="no-reason"),
        pytest.param({"password": "wrong"}, ValidationError, "password", id="wrong-password"),
        pytest.param({"gate": "nonsense"}, ValidationError, "gate", id="unknown-gate"),
        pytest.param({"gate": "signoffs"}, ValidationError, "gate", id="gate-not-failing"),
    ],
)
def test_bad_waivers_are_refused_storing_nothing(failing, carol, changes, error, field):
    _, build = failing
    with pytest.raises(error) as refused:
        waive(carol, build, **changes)
    assert field in refused.value.message_dict
    assert Waiver.objects.count() == 0
    assert not AuditEvent.objects.filter(action="waiver.record").exists()


@pytest.mark.parametrize("persona", ["manager", "alice", "outsider", "priya"])
def test_only_the_change_advisory_board_waives(failing, persona, request):
    _, build = failing
    with pytest.raises(PermissionDenied):
        waive(request.getfixturevalue(persona), build)
    assert Waiver.objects.count() == 0


def test_a_superseded_candidate_cannot_be_waived(failing, carol, candidate):
    release, build = failing
    candidate(release)
    with pytest.raises(Conflict):
        waive(carol, build)


def test_a_gate_is_waived_once(failing, carol):
    _, build = failing
    waive(carol, build)
    with pytest.raises(Conflict):
        waive(carol, build, reason="again")
    assert Waiver.objects.count() == 1


def test_waivers_through_the_api(api, failing, carol, outsider):
    _, build = failing
    body = {"candidate": build.pk, "gate": "checks", "reason": "Known flake", "password": PASSWORD}
    assert api.as_user(outsider).post("/api/v1/waivers/", body, format="json").status_code == 403
    response = api.as_user(carol).post("/api/v1/waivers/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["gate"] == "checks"
    listed = api.as_user(carol).get("/api/v1/waivers/").json()["results"]
    assert [w["version"] for w in listed] == [build.version]
    wrong = api.as_user(carol).post("/api/v1/waivers/", {**body, "password": "x"}, format="json")
    assert wrong.status_code == 400 and "password" in wrong.json()
