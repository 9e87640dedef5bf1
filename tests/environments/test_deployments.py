"""Deployments through their services: a rollout started, stepped and finished; idempotent
starts; one running deployment per environment; rollbacks and rehearsals; what a production
deployment does to its release; and every bad input refused with nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from approvals.models import AuditEvent
from approvals.readiness import services as readiness
from environments import services
from environments.models import Deployment, Environment
from environments.services import deployments
from environments.signals import deployment_finished
from relcal.errors import Conflict
from releases import gates
from releases import services as release_services
from releases.gates import GateState
from releases.models import GatePolicy, ReleaseTransition

pytestmark = pytest.mark.django_db


def start(actor, environment, **fields) -> Deployment:
    return services.deployment_start(actor=actor, environment=environment, **fields)


def finish(actor, deployment, outcome="succeeded", **fields) -> Deployment:
    return services.deployment_finish(actor=actor, deployment=deployment, outcome=outcome, **fields)


def actions() -> list[str]:
    """The audit trail's deployment and release events (other apps may add their own)."""
    return [
        action
        for action in AuditEvent.objects.order_by("seq").values_list("action", flat=True)
        if action.startswith(("deployment.", "release."))
    ]


def stored() -> list:
    return [
        list(
            Deployment.objects.order_by("pk").values_list("pk", "outcome", "steps", "finished_at")
        ),
        list(Environment.objects.order_by("pk").values_list("pk", "current_deployment")),
        AuditEvent.objects.count(),
    ]


def build(release, version: str, actor):
    return readiness.candidate_report(
        actor=actor,
        release=release,
        version=version,
        commit_sha="abcdef1",
        artifact_digest="sha256:" + "a" * 64,
    )


# --- A rollout ---------------------------------------------------------------------------------


def test_a_canary_is_started_stepped_and_finished_with_each_step_timed(alice, staging):
    deployment = start(
        alice, staging, version="4.3.0", strategy="canary", planned_steps=[5, 25, 100]
    )
    assert (deployment.outcome, deployment.finished_at) == ("in_progress", None)
    for percent in (5, 25, 100):
        services.deployment_step(actor=alice, deployment=deployment, percent=percent)
    finished = finish(alice, deployment)

    finished.refresh_from_db()
    assert [step["percent"] for step in finished.steps] == [5, 25, 100]
    assert all(step["at"].endswith("Z") for step in finished.steps)
    assert finished.outcome == "succeeded"
    assert finished.finished_at >= finished.deployed_at
    staging.refresh_from_db()
    assert staging.current_deployment == finished
    assert actions() == ["deployment.start", *["deployment.step"] * 3, "deployment.finish"]


def test_a_failed_deployment_does_not_become_what_runs_there(alice, staging):
    running = services.deployment_report(actor=alice, environment=staging, version="4.2.0")
    finish(alice, start(alice, staging, version="4.3.0"), "failed")
    staging.refresh_from_db()
    assert staging.current_deployment == running


def test_a_start_again_with_its_client_id_returns_the_first_deployment_unchanged(alice, staging):
    first = start(alice, staging, version="4.3.0", client_id="pipeline-812")
    services.deployment_step(actor=alice, deployment=first, percent=50)
    again = start(alice, staging, version="4.3.0", client_id="pipeline-812")
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert again.steps == [{"percent": 50, "at": again.steps[0]["at"]}]
    assert Deployment.objects.count() == 1
    assert actions().count("deployment.start") == 1


def test_a_report_again_with_its_client_id_returns_the_first_one(alice, staging):
    first = services.deployment_record(
        actor=alice, environment=staging, version="4.3.0", client_id="run-9"
    )
    again = services.deployment_record(
        actor=alice, environment=staging, version="4.3.0", client_id="run-9"
    )
    assert (again.pk, again.replayed) == (first.pk, True)
    assert Deployment.objects.count() == 1


def test_a_client_id_used_for_another_environment_is_a_conflict_naming_it(alice, staging, qa):
    first = start(alice, staging, version="4.3.0", client_id="pipeline-812")
    before = stored()
    with pytest.raises(Conflict) as refused:
        start(alice, qa, version="4.3.0", client_id="pipeline-812")
    assert f"deployment #{first.pk}" in refused.value.message
    assert "pipeline-812" in refused.value.message
    assert refused.value.details["deployment"]["id"] == first.pk
    assert stored() == before


def test_a_second_running_deployment_is_a_conflict_naming_the_running_one(
    alice, bob, staging, make_release
):
    release = make_release(name="Payments 4.3", version="4.3.0")
    running = start(alice, staging, release=release)
    before = stored()
    with pytest.raises(Conflict) as refused:
        start(bob, staging, version="9.9")
    message = refused.value.message
    assert "staging has a deployment in progress: 4.3.0 (Payments 4.3)" in message
    assert f"started by alice at {timezone.localtime(running.deployed_at):%Y-%m-%d %H:%M}" in (
        message
    )
    assert f"deployment #{running.pk}" in message
    assert refused.value.details["deployment"]["id"] == running.pk
    assert stored() == before


def test_the_running_one_s_private_release_is_not_named_to_who_may_not_see_it(
    alice, bob, staging, payments, make_release
):
    payments.is_private = True
    payments.save()
    start(alice, staging, release=make_release(name="Secret 1.0", version="1.0"))
    with pytest.raises(Conflict) as refused:
        start(bob, staging, version="9.9")
    assert "Secret" not in refused.value.message
    assert refused.value.details["deployment"]["release"] is None
    assert refused.value.details["deployment"]["release_name"] is None


def test_another_environment_may_deploy_meanwhile(alice, staging, qa):
    start(alice, staging, version="1")
    assert start(alice, qa, version="1").outcome == "in_progress"


# --- Steps and finishes: refused when they make no sense ---------------------------------------


def test_a_step_after_the_finish_is_a_conflict_saying_when_it_finished(alice, staging):
    deployment = finish(alice, start(alice, staging, version="1", strategy="canary"))
    before = stored()
    with pytest.raises(Conflict) as refused:
        services.deployment_step(actor=alice, deployment=deployment, percent=50)
    assert "is over: it finished at" in refused.value.message
    assert "as succeeded" in refused.value.message
    assert stored() == before


def test_steps_only_go_up_and_the_last_one_again_changes_nothing(alice, staging):
    deployment = start(alice, staging, version="1", strategy="canary")
    services.deployment_step(actor=alice, deployment=deployment, percent=25)
    before = stored()
    again = services.deployment_step(actor=alice, deployment=deployment, percent=25)
    assert again.replayed and stored() == before
    with pytest.raises(ValidationError) as refused:
        services.deployment_step(actor=alice, deployment=deployment, percent=5)
    assert "reached 25% already" in refused.value.message_dict["percent"][0]
    assert stored() == before


@pytest.mark.parametrize("percent", [0, -5, 100.5, 1000, "25", True, None, float("nan")])
def test_a_step_must_be_a_percentage(alice, staging, percent):
    deployment = start(alice, staging, version="1", strategy="canary")
    before = stored()
    with pytest.raises(ValidationError) as refused:
        services.deployment_step(actor=alice, deployment=deployment, percent=percent)
    assert "percent" in refused.value.message_dict
    assert stored() == before


@pytest.mark.parametrize(
    ("strategy", "steps", "message"),
    [
        ("canary", [25, 5, 100], "must increase"),
        ("canary", [5, 5, 100], "must increase"),
        ("canary", [5, 25], "last step must be 100"),
        ("rolling", [0, 100], "not a percentage"),
        ("rolling", [50, 150], "not a percentage"),
        ("canary", ["5", 100], "not a percentage"),
        ("canary", "5,25,100", "list of percentages"),
        ("big_bang", [50, 100], "Only canary and rolling"),
        ("blue_green", [100], "Only canary and rolling"),
    ],
    ids=["down", "same", "not-100", "zero", "over-100", "string", "text", "big-bang", "blue-green"],
)
def test_planned_steps_increase_to_100_for_canary_and_rolling_only(
    alice, staging, strategy, steps, message
):
    with pytest.raises(ValidationError) as refused:
        start(alice, staging, version="1", strategy=strategy, planned_steps=steps)
    assert message in refused.value.message_dict["planned_steps"][0]
    assert not Deployment.objects.exists()


def test_an_unknown_strategy_is_refused(alice, staging):
    with pytest.raises(ValidationError) as refused:
        start(alice, staging, version="1", strategy="yolo")
    assert "strategy" in refused.value.message_dict


def test_a_finish_of_a_finished_deployment_is_a_conflict(alice, staging):
    over = services.deployment_record(actor=alice, environment=staging, version="1")
    before = stored()
    with pytest.raises(Conflict) as refused:
        finish(alice, over, "failed")
    assert f"Deployment #{over.pk} (1 to staging) is over" in refused.value.message
    assert stored() == before


def test_the_same_finish_again_changes_nothing(alice, staging):
    deployment = finish(alice, start(alice, staging, version="1"), "failed")
    before = stored()
    assert finish(alice, deployment, "failed").replayed
    assert stored() == before


@pytest.mark.parametrize("outcome", ["rolled_back", "in_progress", "done", ""])
def test_a_finish_is_succeeded_or_failed(alice, staging, outcome):
    deployment = start(alice, staging, version="1")
    before = stored()
    with pytest.raises(ValidationError) as refused:
        finish(alice, deployment, outcome)
    assert "succeeded or failed" in refused.value.message_dict["outcome"][0]
    assert stored() == before


def test_a_deployment_finished_is_signalled_inside_the_finishing_transaction(alice, staging):
    heard = []

    def receiver(sender, deployment, actor, **kwargs):
        heard.append((deployment.pk, deployment.outcome, actor, transaction.get_autocommit()))

    deployment_finished.connect(receiver)
    try:
        deployment = finish(alice, start(alice, staging, version="1"), "failed")
        reported = services.deployment_report(actor=alice, environment=staging, version="2")
    finally:
        deployment_finished.disconnect(receiver)
    assert heard == [
        (deployment.pk, "failed", alice, False),
        (reported.pk, "succeeded", alice, False),
    ]


# --- Versions, builds and releases -------------------------------------------------------------


def test_the_version_defaults_to_the_build_s_then_the_release_s(alice, staging, qa, make_release):
    release = make_release(version="4.3.0")
    candidate = build(release, "4.3.0-rc.2", alice)
    by_build = start(alice, staging, candidate=candidate)
    assert (by_build.version, by_build.release) == ("4.3.0-rc.2", release)
    assert start(alice, qa, release=release).version == "4.3.0"


def test_a_build_of_another_release_is_refused(alice, staging, make_release):
    release, other = make_release(), make_release()
    candidate = build(other, "9.0-rc.1", alice)
    with pytest.raises(ValidationError) as refused:
        start(alice, staging, release=release, candidate=candidate)
    assert refused.value.message_dict["candidate"] == [
        f"Build #{candidate.pk} is not a build of {release.name}."
    ]
    assert not Deployment.objects.exists()


def test_without_version_or_release_the_version_is_asked_for(alice, staging):
    with pytest.raises(ValidationError) as refused:
        start(alice, staging)
    assert "version" in refused.value.message_dict


def test_a_private_release_is_refused_like_a_missing_one(bob, staging, payments, make_release):
    payments.is_private = True
    payments.save()
    release = make_release(name="Secret 1.0")
    with pytest.raises(ValidationError) as refused:
        start(bob, staging, release=release)
    assert refused.value.message_dict == {
        "release": [f'Invalid pk "{release.pk}" - object does not exist.']
    }
    assert not Deployment.objects.exists()


def test_nobody_acts_on_a_deployment_of_a_release_they_cannot_see(
    alice, bob, staging, payments, make_release
):
    payments.is_private = True
    payments.save()
    deployment = start(alice, staging, release=make_release(name="Secret 1.0"))
    before = stored()
    for act in (
        lambda: services.deployment_step(actor=bob, deployment=deployment, percent=5),
        lambda: finish(bob, deployment),
    ):
        with pytest.raises(PermissionDenied) as refused:
            act()
        assert "Secret" not in str(refused.value)
    assert stored() == before


@pytest.mark.parametrize(
    "act",
    ["start", "record", "report", "step", "finish", "rollback"],
)
def test_an_outsider_may_not_report_anything(outsider, alice, staging, act):
    running = start(alice, staging, version="2")
    over = services.deployment_record(
        actor=alice,
        environment=staging,
        version="1",
        outcome="failed",
        deployed_at=running.deployed_at - timedelta(hours=1),
        finished_at=running.deployed_at - timedelta(minutes=30),
    )
    calls = {
        "start": lambda: start(outsider, staging, version="3"),
        "record": lambda: services.deployment_record(
            actor=outsider, environment=staging, version="3"
        ),
        "report": lambda: services.deployment_report(
            actor=outsider, environment=staging, version="3"
        ),
        "step": lambda: services.deployment_step(actor=outsider, deployment=running, percent=5),
        "finish": lambda: finish(outsider, running),
        "rollback": lambda: services.deployment_rollback(actor=outsider, deployment=over),
    }
    before = stored()
    with pytest.raises(PermissionDenied):
        calls[act]()
    assert stored() == before


# --- Reported once over (by a pipeline, or by hand) --------------------------------------------


def test_a_deployment_reported_late_does_not_replace_what_runs_now(alice, staging):
    now = timezone.now()
    current = services.deployment_report(actor=alice, environment=staging, version="2")
    late = services.deployment_record(
        actor=alice,
        environment=staging,
        version="1",
        deployed_at=now - timedelta(hours=3),
        finished_at=now - timedelta(hours=2),
    )
    assert late.finished_at == now - timedelta(hours=2)
    staging.refresh_from_db()
    assert staging.current_deployment == current


@pytest.mark.parametrize(
    ("deployed", "finished", "field"),
    [
        (-1, -2, "finished_at"),  # finished before it started
        (-1, 1, "finished_at"),  # finishes in the future
        (1, None, "deployed_at"),  # starts in the future
    ],
)
def test_a_report_of_one_that_is_over_needs_sane_times(alice, staging, deployed, finished, field):
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        services.deployment_record(
            actor=alice,
            environment=staging,
            version="1",
            deployed_at=now + timedelta(hours=deployed),
            finished_at=None if finished is None else now + timedelta(hours=finished),
        )
    assert field in refused.value.message_dict
    assert not Deployment.objects.exists()


def test_a_report_needs_an_outcome_of_one_that_is_over(alice, staging):
    with pytest.raises(ValidationError) as refused:
        services.deployment_record(
            actor=alice, environment=staging, version="1", outcome="in_progress"
        )
    assert "outcome" in refused.value.message_dict


def test_a_report_needs_aware_times(alice, staging):
    with pytest.raises(ValidationError) as refused:
        services.deployment_record(
            actor=alice,
            environment=staging,
            version="1",
            deployed_at=timezone.now().replace(tzinfo=None) - timedelta(hours=1),
        )
    assert "deployed_at" in refused.value.message_dict


# --- Production moves the release ---------------------------------------------------------------


def test_a_production_deployment_moves_the_release_to_deploying_then_released(
    manager, prod, release_in
):
    release = release_in("approved")
    deployment = start(manager, prod, release=release, strategy="canary", planned_steps=[10, 100])
    release.refresh_from_db()
    assert release.state == "deploying"
    finish(manager, deployment)
    release.refresh_from_db()
    assert release.state == "released"
    reasons = list(
        ReleaseTransition.objects.filter(release=release, to_state__in=["deploying", "released"])
        .order_by("id")
        .values_list("reason", flat=True)
    )
    assert reasons == [
        f"Deployment #{deployment.pk} of {release.version} to prod started.",
        f"Deployment #{deployment.pk} of {release.version} to prod succeeded.",
    ]
    assert actions()[-4:] == [
        "deployment.start",
        "release.transition",
        "deployment.finish",
        "release.transition",
    ]


def test_a_production_deployment_reported_over_moves_the_release_all_the_way(
    manager, prod, release_in
):
    release = release_in("approved")
    services.deployment_record(actor=manager, environment=prod, release=release)
    release.refresh_from_db()
    assert release.state == "released"
    assert list(release.transitions.order_by("-id").values_list("to_state", flat=True)[:2]) == [
        "released",
        "deploying",
    ]


def test_a_failed_production_deployment_leaves_the_release_deploying(manager, prod, release_in):
    release = release_in("approved")
    finish(manager, start(manager, prod, release=release), "failed")
    release.refresh_from_db()
    assert release.state == "deploying"


def test_move_release_false_leaves_the_release_as_it_is(manager, prod, release_in):
    release = release_in("approved")
    deployment = start(manager, prod, release=release, move_release=False)
    finish(manager, deployment)
    release.refresh_from_db()
    assert release.state == "approved"


def test_the_finish_may_say_not_to_move_the_release_after_all(manager, prod, release_in):
    release = release_in("approved")
    deployment = start(manager, prod, release=release)
    finish(manager, deployment, move_release=False)
    release.refresh_from_db()
    assert release.state == "deploying"
    assert Deployment.objects.get(pk=deployment.pk).move_release is False


def test_outside_production_the_release_stays_as_it_is(manager, staging, release_in):
    release = release_in("approved")
    finish(manager, start(manager, staging, release=release))
    release.refresh_from_db()
    assert release.state == "approved"


def test_a_team_member_may_not_move_a_release_through_production(alice, prod, release_in):
    release = release_in("approved")
    before = stored()
    with pytest.raises(PermissionDenied) as refused:
        start(alice, prod, release=release)
    assert "move_release to false" in str(refused.value)
    assert stored() == before
    assert start(alice, prod, release=release, move_release=False).outcome == "in_progress"


def test_a_production_deployment_of_a_release_not_approved_is_refused(manager, prod, release_in):
    release = release_in("testing")
    before = stored()
    with pytest.raises(ValidationError) as refused:
        start(manager, prod, release=release)
    assert refused.value.message_dict["release"] == [
        f"{release.name} is Testing: a production deployment moves it to Released, which it "
        "cannot reach from there. Set move_release to false to report it without moving the "
        "release."
    ]
    assert stored() == before


def test_deploying_needs_go_or_the_whole_start_is_refused(manager, prod, release_in, payments):
    release = release_in("approved")
    # The deployment slot gate: Payments must hold prod for the deployment window.
    GatePolicy.objects.create(name="Payments", team=payments, require_booking=True)
    before = stored()
    with pytest.raises(ValidationError) as refused:
        start(manager, prod, release=release)
    assert refused.value.message_dict["release"][0].startswith(
        f"{release.name} cannot move to Deploying yet: Environment booked: prod is not booked"
    )
    assert stored() == before
    release.refresh_from_db()
    assert release.state == "approved"


def test_a_released_release_deployed_again_stays_released(manager, prod, release_in):
    release = release_in("released")
    finish(manager, start(manager, prod, release=release))
    release.refresh_from_db()
    assert release.state == "released"


# --- Rollbacks and rehearsals --------------------------------------------------------------------


@pytest.fixture
def shipped(manager, prod, release_in):
    """4.2.0 ran on prod, then the approved Payments 4.3 was deployed there: released."""
    services.deployment_record(
        actor=manager,
        environment=prod,
        version="4.2.0",
        deployed_at=timezone.now() - timedelta(days=7),
        finished_at=timezone.now() - timedelta(days=7),
    )
    release = release_in("approved", name="Payments 4.3", version="4.3.0")
    deployment = finish(manager, start(manager, prod, release=release))
    release.refresh_from_db()
    assert release.state == "released"
    return release, deployment


def test_a_production_rollback_moves_the_release_to_rolled_back(manager, prod, shipped):
    release, deployment = shipped
    rollback = services.deployment_rollback(actor=manager, deployment=deployment, note="5xx")
    assert (rollback.version, rollback.release, rollback.rollback_of) == (
        "4.2.0",
        release,
        deployment,
    )
    assert rollback.environment == prod and rollback.outcome == "in_progress"
    finish(manager, rollback)

    deployment.refresh_from_db()
    release.refresh_from_db()
    prod.refresh_from_db()
    assert deployment.outcome == "rolled_back"
    assert release.state == "rolled_back"
    assert prod.current_deployment == rollback
    step = release.transitions.get(to_state="rolled_back")
    assert step.reason.startswith(f"Rolled back by deployment #{rollback.pk} (4.2.0 on prod")
    assert "deployment.rolled_back" in actions()


def test_a_failed_rollback_leaves_everything_as_it_was(manager, prod, shipped):
    release, deployment = shipped
    finish(manager, services.deployment_rollback(actor=manager, deployment=deployment), "failed")
    deployment.refresh_from_db()
    release.refresh_from_db()
    assert (deployment.outcome, release.state) == ("succeeded", "released")


def test_a_rollback_again_with_its_client_id_returns_the_first(manager, shipped):
    _, deployment = shipped
    first = services.deployment_rollback(actor=manager, deployment=deployment, client_id="rb-1")
    again = services.deployment_rollback(actor=manager, deployment=deployment, client_id="rb-1")
    assert (again.pk, again.replayed) == (first.pk, True)


def test_a_rollback_outside_production_is_a_rehearsal_that_passes_the_gate(
    alice, staging, make_release, payments
):
    GatePolicy.objects.create(name="Payments", team=payments, rollback_rehearsal_days=30)
    release = make_release(name="Payments 4.3", version="4.3.0")
    assert gates.readiness(release).row("rollback").state == GateState.PENDING
    services.deployment_report(actor=alice, environment=staging, version="4.2.0")
    deployment = services.deployment_report(
        actor=alice, environment=staging, version="", release=release
    )
    rollback = services.deployment_rollback(actor=alice, deployment=deployment)
    finish(alice, rollback)

    release.refresh_from_db()
    assert release.rollback_rehearsed_on == timezone.localdate()
    assert release.state == "draft"
    assert gates.readiness(release).row("rollback").state == GateState.PASS
    event = AuditEvent.objects.get(action="release.rollback_rehearsed")
    assert event.release_id == release.pk
    assert f"Rollback #{rollback.pk} to 4.2.0 on staging" in event.after["evidence"]


def test_a_rehearsal_never_moves_the_date_back(manager, make_release):
    release = make_release()
    today = timezone.localdate()
    release_services.release_rollback_rehearsed(actor=manager, release=release, on=today)
    events = AuditEvent.objects.count()
    release_services.release_rollback_rehearsed(
        actor=manager, release=release, on=today - timedelta(days=3)
    )
    release.refresh_from_db()
    assert release.rollback_rehearsed_on == today
    assert AuditEvent.objects.count() == events


def test_a_rollback_of_another_environment_s_deployment_is_refused(alice, staging, qa):
    services.deployment_report(actor=alice, environment=qa, version="1")
    theirs = services.deployment_report(actor=alice, environment=qa, version="2")
    before = stored()
    with pytest.raises(ValidationError) as refused:
        start(alice, staging, version="1", rollback_of=theirs)
    assert refused.value.message_dict["rollback_of"] == [
        f"Deployment #{theirs.pk} ran on qa, not on staging: a rollback runs where the "
        "deployment it undoes ran."
    ]
    assert stored() == before


def test_a_running_deployment_is_finished_before_it_is_rolled_back(alice, staging):
    running = start(alice, staging, version="2")
    with pytest.raises(Conflict) as refused:
        services.deployment_rollback(actor=alice, deployment=running, version="1")
    assert "still in progress" in refused.value.message


def test_a_deployment_is_rolled_back_once(manager, shipped):
    _, deployment = shipped
    finish(manager, services.deployment_rollback(actor=manager, deployment=deployment))
    before = stored()
    with pytest.raises(Conflict) as refused:
        services.deployment_rollback(actor=manager, deployment=deployment)
    assert "was rolled back already" in refused.value.message
    assert stored() == before


def test_only_the_latest_deployment_there_is_rolled_back(alice, staging):
    services.deployment_report(actor=alice, environment=staging, version="1")
    older = services.deployment_report(actor=alice, environment=staging, version="2")
    latest = services.deployment_report(actor=alice, environment=staging, version="3")
    with pytest.raises(Conflict) as refused:
        services.deployment_rollback(actor=alice, deployment=older)
    assert f"(deployment #{latest.pk}); roll back that one instead" in refused.value.message


def test_a_rollback_is_not_rolled_back(alice, staging):
    services.deployment_report(actor=alice, environment=staging, version="1")
    deployment = services.deployment_report(actor=alice, environment=staging, version="2")
    rollback = finish(alice, services.deployment_rollback(actor=alice, deployment=deployment))
    with pytest.raises(ValidationError) as refused:
        services.deployment_rollback(actor=alice, deployment=rollback)
    assert "is a rollback itself" in refused.value.message_dict["rollback_of"][0]


def test_a_rollback_with_nothing_before_it_needs_the_version(alice, staging):
    deployment = services.deployment_report(actor=alice, environment=staging, version="1")
    with pytest.raises(ValidationError) as refused:
        services.deployment_rollback(actor=alice, deployment=deployment)
    assert "give the version to roll back to" in refused.value.message_dict["version"][0]
    rollback = services.deployment_rollback(actor=alice, deployment=deployment, version="0.9")
    assert rollback.version == "0.9"


def test_a_failed_deployment_may_be_rolled_back(alice, staging):
    services.deployment_report(actor=alice, environment=staging, version="1")
    failed = finish(alice, start(alice, staging, version="2"), "failed")
    rollback = finish(alice, services.deployment_rollback(actor=alice, deployment=failed))
    failed.refresh_from_db()
    assert (rollback.version, failed.outcome) == ("1", "rolled_back")


def test_a_start_that_got_past_the_check_meets_the_constraint_as_a_conflict(alice, staging):
    # Two starts racing past the check under the environment's lock (which only PostgreSQL
    # takes): the partial unique constraint refuses the second row, answered as a 409.
    running = start(alice, staging, version="1")
    late = Deployment(environment=staging, version="2", outcome="in_progress", deployed_by=alice)
    with transaction.atomic(), pytest.raises(Conflict) as refused:
        deployments._insert(alice, late)
    assert f"(deployment #{running.pk})" in refused.value.message
    assert Deployment.objects.count() == 1


def test_a_client_id_taken_meanwhile_is_answered_with_that_deployment(alice, staging):
    first = services.deployment_record(
        actor=alice, environment=staging, version="1", client_id="run-1"
    )
    late = Deployment(
        environment=staging,
        version="1",
        outcome="succeeded",
        deployed_at=first.deployed_at,
        finished_at=first.finished_at,
        client_id="run-1",
    )
    with transaction.atomic():
        assert deployments._insert(alice, late).pk == first.pk
