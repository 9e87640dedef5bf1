"""Each built-in gate passing, failing and pending, with the one line it gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from environments import services as environment_services
from environments.models import Environment
from releases import gates, services
from releases.gates import GateState
from releases.models import ReleaseState, ScopeItem, Team

HOUR = timedelta(hours=1)


def gate(release, name, user=None):
    row = gates.readiness(release, user=user).row(name)
    return row.state, row.result.reason


def force_state(release, state):
    # Prerequisites in any state, without walking each through its gates.
    type(release).objects.filter(pk=release.pk).update(state=state)
    release.refresh_from_db()


# --- Required checks ------------------------------------------------------------------------------


def test_checks_wait_for_a_candidate(make_release, policy):
    state, reason = gate(make_release(), "checks")
    assert state == GateState.PENDING
    assert reason == ("No release candidate reported yet; unit-tests, integration-tests required")


def test_checks_pass_when_every_required_one_passed(make_release, policy, candidate, green):
    release = make_release()
    build = candidate(release)
    green(build)
    assert gate(release, "checks") == (
        GateState.PASS,
        f"unit-tests, integration-tests passed on {build.version}",
    )


def test_checks_fail_naming_the_failing_one_with_its_link(make_release, policy, candidate, check):
    release = make_release()
    build = candidate(release)
    check(build, "unit-tests")
    check(build, "integration-tests", "failed", url="https://ci.example.com/run/9")
    row = gates.readiness(release).row("checks")
    assert (row.state, row.result.reason, row.result.link) == (
        GateState.FAIL,
        f"integration-tests failed on {build.version}",
        "https://ci.example.com/run/9",
    )


def test_a_rerun_counts_its_latest_report(make_release, policy, candidate, check):
    release = make_release()
    build = candidate(release)
    check(build, "unit-tests")
    check(build, "integration-tests", "failed")
    check(build, "integration-tests", "passed")
    assert gate(release, "checks")[0] == GateState.PASS
    assert build.checks.count() == 3  # every report kept as evidence


def test_pending_and_missing_checks_are_named(make_release, policy, candidate, check):
    release = make_release()
    build = candidate(release)
    check(build, "unit-tests", "pending")
    assert gate(release, "checks") == (
        GateState.PENDING,
        f"unit-tests pending, integration-tests not reported on {build.version}",
    )


def test_checks_of_a_superseded_candidate_do_not_count(make_release, policy, candidate, green):
    release = make_release()
    green(candidate(release))
    newer = candidate(release)
    assert gate(release, "checks") == (
        GateState.PENDING,
        f"unit-tests not reported, integration-tests not reported on {newer.version}",
    )


def test_a_neutral_required_check_passes(make_release, policy, candidate, check):
    release = make_release()
    build = candidate(release)
    check(build, "unit-tests")
    check(build, "integration-tests", "neutral")
    assert gate(release, "checks")[0] == GateState.PASS


# --- Sign-offs ------------------------------------------------------------------------------------


def test_sign_offs_wait_for_the_scope_freeze(make_release):
    assert gate(make_release(), "signoffs") == (
        GateState.PENDING,
        "Asked for when the scope freezes",
    )


def test_missing_sign_offs_are_pending(frozen):
    state, reason = gate(frozen(), "signoffs")
    assert state == GateState.PENDING
    assert "Product: 0 of 1 approvals, missing" in reason


def test_a_rejection_fails_the_sign_off_gate(frozen, sign, priya):
    release = frozen()
    sign(priya, release, "product", decision="reject", comment="Copy not final.")
    state, reason = gate(release, "signoffs")
    assert state == GateState.FAIL
    assert "Product: rejected by Priya" in reason


def test_complete_sign_offs_pass(frozen, sign_all):
    release = frozen()
    sign_all(release)
    assert gate(release, "signoffs") == (GateState.PASS, "Product, Legal, Security approved.")


# --- Prerequisites -------------------------------------------------------------------------------


@pytest.fixture
def needs(make_release, manager, soon):
    """``needs(state, go_live_offset, kind="needs")``: (release, prerequisite)."""

    def make(state, offset, kind="needs", **fields):
        release = make_release()
        other = make_release(name="Search 2.1", go_live=soon + offset, **fields)
        services.dependency_create(actor=manager, release=release, depends_on=other, kind=kind)
        force_state(other, state)
        return release, other

    return make


def test_no_prerequisite_passes(make_release):
    assert gate(make_release(), "prerequisites") == (GateState.PASS, "No prerequisites.")


def test_a_released_prerequisite_passes(needs):
    release, _ = needs(ReleaseState.RELEASED, -2 * HOUR)
    assert gate(release, "prerequisites")[0] == GateState.PASS


@pytest.mark.parametrize("state", [ReleaseState.CANCELLED, ReleaseState.ROLLED_BACK])
def test_a_prerequisite_called_off_fails_naming_it(needs, state):
    release, _ = needs(state, -2 * HOUR)
    assert gate(release, "prerequisites") == (
        GateState.FAIL,
        f"Search 2.1 (needed first) was {ReleaseState(state).label.lower()}",
    )


def test_a_prerequisite_shipping_later_fails(needs, soon):
    release, _ = needs(ReleaseState.PLANNED, timedelta(days=4))
    state, reason = gate(release, "prerequisites")
    assert state == GateState.FAIL
    assert reason.startswith("Search 2.1 (needed first) goes live ")
    assert reason.endswith(", after this release starts")


def test_a_prerequisite_shipping_before_but_not_yet_released_is_pending(needs):
    release, _ = needs(ReleaseState.APPROVED, -timedelta(days=1))
    state, reason = gate(release, "prerequisites")
    assert state == GateState.PENDING
    assert reason.startswith("Search 2.1 (needed first) is not released yet (goes live ")


def test_a_prerequisite_deploying_in_a_window_that_ends_first_passes(needs):
    release, _ = needs(ReleaseState.DEPLOYING, -3 * HOUR)  # window: 1 h, ends 2 h before
    assert gate(release, "prerequisites")[0] == GateState.PASS


def test_a_partner_shipping_together_must_be_approved(needs):
    release, other = needs(ReleaseState.TESTING, timedelta(0), kind="together")
    assert gate(release, "prerequisites") == (
        GateState.PENDING,
        "Search 2.1 (ships together) is not approved yet",
    )
    force_state(other, ReleaseState.APPROVED)
    assert gate(release, "prerequisites")[0] == GateState.PASS


def test_a_prerequisite_the_reader_may_not_see_is_not_named(needs, outsider, db):
    private = Team.objects.create(name="Skunkworks", slug="skunk", is_private=True)
    release, _ = needs(ReleaseState.CANCELLED, -2 * HOUR, team=private)
    _, reason = gate(release, "prerequisites", user=outsider)
    assert reason == "a release you cannot see (needed first) was cancelled"


# --- Blocking scope items, freezes, rollback, booking ---------------------------------------------


def test_an_open_blocker_fails_until_done(make_release, manager):
    release = make_release()
    item = services.scope_item_create(
        actor=manager, release=release, title="PCI fix", ticket_key="PAY-7"
    )
    ScopeItem.objects.filter(pk=item.pk).update(blocker=True)
    assert gate(release, "blockers") == (GateState.FAIL, "Open blocker: PAY-7 PCI fix")
    ScopeItem.objects.filter(pk=item.pk).update(done=True)
    assert gate(release, "blockers")[0] == GateState.PASS


def test_a_freeze_over_the_window_fails_unless_overridden(make_release, manager, admin, soon):
    release = make_release()
    services.freeze_window_create(
        actor=manager, name="Year end", start=soon - HOUR, end=soon + 3 * HOUR
    )
    assert gate(release, "freeze") == (
        GateState.FAIL,
        "The deployment window falls in “Year end”",
    )
    type(release).objects.filter(pk=release.pk).update(freeze_override_reason="Card mandate")
    release.refresh_from_db()
    assert gate(release, "freeze") == (
        GateState.PASS,
        "Inside “Year end”, overridden: Card mandate",
    )


@pytest.mark.parametrize(
    ("rehearsed_days_before", "state"),
    [
        pytest.param(None, GateState.PENDING, id="never"),
        pytest.param(20, GateState.FAIL, id="too-long-ago"),
        pytest.param(5, GateState.PASS, id="recent"),
    ],
)
def test_rollback_rehearsal_within_the_policy_days(
    make_release, policy, soon, rehearsed_days_before, state
):
    policy.rollback_rehearsal_days = 14
    policy.save()
    release = make_release()
    if rehearsed_days_before is not None:
        release.rollback_rehearsed_on = soon.date() - timedelta(days=rehearsed_days_before)
        release.save(update_fields=["rollback_rehearsed_on"])
    assert gate(release, "rollback")[0] == state


def test_rollback_is_not_asked_by_default(make_release):
    assert gate(make_release(), "rollback") == (GateState.PASS, "Not required by the gate policy.")


def test_the_deployment_slot_must_be_booked_when_the_policy_asks(make_release, policy, alice, soon):
    policy.require_booking = True
    policy.save()
    prod = Environment.objects.create(name="prod", slug="prod", kind="prod")
    release = make_release()
    assert gate(release, "booking")[0] == GateState.PENDING
    environment_services.booking_create(
        actor=alice, environment=prod, team=release.team, start=soon, end=soon + HOUR,
        purpose="Go-live",
    )  # fmt: skip
    assert gate(release, "booking")[0] == GateState.PASS


def test_the_gates_cost_the_same_for_one_release_or_twenty(
    make_release, policy, candidate, check, django_assert_max_num_queries, soon
):
    releases = [make_release(go_live=soon + n * HOUR) for n in range(20)]
    for release in releases:
        check(candidate(release), "unit-tests", "failed")
    with django_assert_max_num_queries(20) as one:
        gates.evaluate(releases[:1], now=timezone.now())
    with django_assert_max_num_queries(len(one.captured_queries)):
        gates.evaluate(releases, now=timezone.now())
