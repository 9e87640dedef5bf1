"""The verdict from the gates, and the lifecycle moves it guards."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from releases import gates, services
from releases.gates import GateState, Verdict

from .conftest import walk


def states(release) -> dict[str, str]:
    return {row.gate.name: row.state for row in gates.readiness(release).rows}


def test_a_green_candidate_with_every_sign_off_is_go(ready):
    release = ready()
    readiness = gates.readiness(release)
    assert readiness.verdict == Verdict.GO
    assert set(states(release).values()) == {GateState.PASS}


@pytest.mark.parametrize(
    ("rows", "verdict"),
    [
        pytest.param(["pass", "pass"], Verdict.GO, id="all-pass"),
        pytest.param(["pass", "waived"], Verdict.GO, id="waived-counts-as-pass"),
        pytest.param(["pass", "pending"], Verdict.PENDING, id="pending"),
        pytest.param(["pending", "fail"], Verdict.NO_GO, id="fail-beats-pending"),
        pytest.param(["fail", "waived"], Verdict.NO_GO, id="fail"),
    ],
)
def test_the_verdict_table(rows, verdict):
    gate = gates.Gate("g", "G", lambda releases, ctx: {}, False, 0)

    def row(state):
        if state == "waived":
            return gates.GateRow(gate, gates.failed("x"), waiver="waived by Carol: y")
        return gates.GateRow(gate, gates.GateResult(GateState(state), "x"))

    assert gates.verdict_of([row(state) for state in rows]) == verdict


def test_a_failed_required_check_stops_deploying_naming_it(ready, candidate, check, manager):
    release = ready()
    walk(release, manager, "approved")
    build = release.candidates.order_by("-id").first()
    check(build, "integration-tests", "failed", url="https://ci.example.com/run/7")
    with pytest.raises(ValidationError) as error:
        services.release_transition(actor=manager, release=release, to_state="deploying")
    message = error.value.message_dict["to_state"][0]
    assert message == (
        f"{release.name} cannot move to Deploying yet: Required checks: integration-tests "
        f"failed on {build.version}."
    )
    release.refresh_from_db()
    assert release.state == "approved"


def test_approved_needs_the_checks_but_not_the_deployment_gates(
    frozen, manager, candidate, green, sign_all, policy, search, make_release
):
    policy.require_booking = True  # nobody booked prod: a deployment gate, pending
    policy.save()
    release = frozen()
    green(candidate(release))
    walk(release, manager, "testing")
    sign_all(release)
    walk(release, manager, "approved")  # the booking is not needed yet
    with pytest.raises(ValidationError) as error:
        services.release_transition(actor=manager, release=release, to_state="deploying")
    assert "Environment booked: prod is not booked by Payments" in str(error.value)


def test_approved_is_refused_while_a_required_check_has_not_reported(
    frozen, manager, candidate, check, sign_all, policy
):
    release = frozen()
    build = candidate(release)
    check(build, "unit-tests")
    walk(release, manager, "testing")
    sign_all(release)
    with pytest.raises(ValidationError) as error:
        services.release_transition(actor=manager, release=release, to_state="approved")
    assert f"Required checks: integration-tests not reported on {build.version}" in str(error.value)


def test_a_release_without_a_policy_of_its_own_follows_the_default(ready, policy):
    policy.delete()  # the default requires no checks
    release = ready()
    assert states(release)["checks"] == GateState.PASS
    assert gates.readiness(release).row("checks").result.reason == (
        "No checks are required by the gate policy."
    )
