"""Deployments: rollouts that pipelines start, step and finish; rollbacks; and deployments
reported once they are over (by a pipeline, or by hand by a release manager).

A deployment is ``in_progress`` from ``deployment_start`` until ``deployment_finish`` gives it
its outcome (``succeeded`` or ``failed``); ``deployment_step`` records each step it reaches
(canary 5% → 25% → 100%) with its time. ``deployment_record`` stores one that is over already,
``deployment_report`` one that "now runs there" (started and finished now, succeeded).

A rollback (``deployment_rollback``) is a deployment too: of the version that ran before, in the
same environment, linked to the one it undoes (``rollback_of``). When it succeeds the undone
deployment becomes ``rolled_back``.

What a finish moves:
- succeeded: the environment's current deployment (unless one that finished later is current);
- a production deployment that succeeds: its release to ``released`` (from ``approved``
  through ``deploying``); starting one moves an ``approved`` release to ``deploying``, which
  needs the readiness verdict GO;
- a rollback that succeeds outside production is a rehearsal: the release's "rollback last
  rehearsed" day (``releases.services.release_rollback_rehearsed``);
- a rollback that succeeds in production: its release to ``rolled_back``.
Release moves go through ``releases.services.release_transition`` (its permission check, the
gates, the audit trail), so a pipeline that moves a release in production needs a user allowed
to move it (release managers, the release's manager). ``move_release=False`` leaves the release
as it is. A refused move refuses the whole call: nothing is stored.

Idempotency: a pipeline passes its own ``client_id``. Starting (or recording, or rolling back)
again with it returns the deployment stored the first time, unchanged, with ``replayed`` set on
it; the same id for another environment, release or undone deployment is a 409 naming it. A
step already reached and a finish with the outcome already recorded are answered the same way.

Concurrency. Lock order (that of ``relcal.db``): the environment row first, then the release
(``release_transition`` and ``release_rollback_rehearsed`` re-enter its lock), then the
deployment, then the one a rollback undoes, all before the first audit event. One deployment per
environment runs at a time: checked under the environment's lock, and held by the partial
unique constraint ``deployment_one_running_per_environment`` should two starts get past the
check anyway; either way the second gets a 409 naming the running one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from relcal import audit
from relcal.db import locked
from relcal.errors import Conflict
from relcal.times import fmt, require_aware
from releases import permissions as release_perms
from releases import services as release_services
from releases.models import DeploymentStrategy, Release, ReleaseState
from releases.selectors import visible_release_q

from .. import permissions as perms
from ..models import Deployment, DeploymentOutcome, Environment, EnvironmentKind
from ..signals import deployment_finished
from . import _rules as rules

Outcome = DeploymentOutcome
S = ReleaseState
# Strategies that go through steps (percent of traffic or of instances).
STEPPED = (DeploymentStrategy.CANARY, DeploymentStrategy.ROLLING)
FINISHED = (Outcome.SUCCEEDED, Outcome.FAILED)
MAX_STEPS = 50
RUNNING_CONSTRAINT = "deployment_one_running_per_environment"
CLIENT_ID_CONSTRAINT = "deployment_client_id_unique"
DEPLOYMENT_AUDIT = (
    "environment",
    "release",
    "candidate",
    "version",
    "strategy",
    "planned_steps",
    "deployed_at",
    "finished_at",
    "outcome",
    "client_id",
    "rollback_of",
    "move_release",
    "hotfix",
    "note",
)


# --- Who, and what they may see ----------------------------------------------------------------


def _require_reporter(actor, environment: Environment) -> None:
    perms.require(
        perms.can_report_deployment(actor, environment),
        "Only members of a team (and release managers) can report deployments.",
    )


def _visible(actor, release: Release) -> bool:
    condition = visible_release_q(actor)
    if condition == Q():
        return True
    return Release.objects.filter(condition, pk=release.pk).exists()


def _require_visible(actor, release: Release | None, field: str = "release") -> None:
    # The same answer as for an id that does not exist: a private release's existence is private.
    if release is not None and not _visible(actor, release):
        raise ValidationError({field: f'Invalid pk "{release.pk}" - object does not exist.'})


def _require_visible_deployment(actor, deployment: Deployment) -> None:
    """Acting on a deployment (step, finish, roll back) needs sight of its release."""
    if deployment.release_id is not None and not _visible(actor, deployment.release):
        raise PermissionDenied(
            f"Deployment #{deployment.pk} is of a release you cannot see; only people who may "
            "see it can change it."
        )


def _name(actor, deployment: Deployment) -> str:
    """“4.3.0 (Payments 4.3)”, or just the version for a reader who may not see the release."""
    release = deployment.release
    if release is None or not _visible(actor, release):
        return deployment.version
    return f"{deployment.version} ({release.name})"


def summary(actor, deployment: Deployment) -> dict[str, Any]:
    """A deployment as a 409 names it (``details["deployment"]``)."""
    visible = deployment.release_id is not None and _visible(actor, deployment.release)
    return {
        "id": deployment.pk,
        "environment": deployment.environment.slug,
        "version": deployment.version,
        "release": deployment.release_id if visible else None,
        "release_name": deployment.release.name if visible else None,
        "outcome": deployment.outcome,
        "deployed_by": deployment.deployed_by.get_username() if deployment.deployed_by else None,
        "deployed_at": deployment.deployed_at,
        "finished_at": deployment.finished_at,
    }


def _who(deployment: Deployment) -> str:
    return deployment.deployed_by.get_username() if deployment.deployed_by else "someone"


# --- Checks ------------------------------------------------------------------------------------


def _lock(environment: Environment) -> Environment:
    return locked(Environment, environment.pk)


def _lock_moved(*, release_id: int | None, rollback_of_id: int | None) -> None:
    """Lock what finishing a deployment may change besides itself, after its environment and
    before anything is recorded (the lock order of ``relcal.db``): its release, which
    ``release_transition`` and ``release_rollback_rehearsed`` then re-enter instead of waiting
    for it while this transaction holds the audit chain, and the deployment a rollback undoes.
    A release deleted meanwhile has left the deployment without one: nothing to lock."""
    if release_id is not None:
        Release.objects.select_for_update(of=("self",)).filter(pk=release_id).first()
    if rollback_of_id is not None:
        Deployment.objects.select_for_update(of=("self",)).filter(pk=rollback_of_id).first()


def _percent(value: Any, field: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
        raise ValidationError(
            {field: f"{value!r} is not a percentage: give a number above 0 and at most 100."}
        )
    return int(value) if float(value).is_integer() else float(value)


def _planned_steps(strategy: str, planned_steps: Sequence[Any] | None) -> list[int | float]:
    field = "planned_steps"
    if planned_steps is None:
        return []
    if isinstance(planned_steps, str | bytes) or not isinstance(planned_steps, Sequence):
        raise ValidationError({field: "Give the steps as a list of percentages: [5, 25, 100]."})
    if not planned_steps:
        return []
    if strategy not in STEPPED:
        label = DeploymentStrategy(strategy).label.lower()
        raise ValidationError(
            {
                field: f"Only canary and rolling deployments have steps; a {label} deployment "
                "goes to 100% at once."
            }
        )
    if len(planned_steps) > MAX_STEPS:
        raise ValidationError({field: f"At most {MAX_STEPS} steps."})
    steps = [_percent(value, field) for value in planned_steps]
    if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
        raise ValidationError({field: "The steps must increase, e.g. [5, 25, 100]."})
    if steps[-1] != 100:
        raise ValidationError({field: "The last step must be 100 (the whole rollout)."})
    return steps


def _strategy(strategy: str) -> str:
    if strategy not in DeploymentStrategy.values:
        raise ValidationError(
            {
                "strategy": f"Unknown strategy “{strategy}”: one of "
                f"{', '.join(DeploymentStrategy.values)}."
            }
        )
    return strategy


def _release_of(actor, release: Release | None, candidate) -> Release | None:
    """The release, checked against the build (which must be one of its builds)."""
    _require_visible(actor, release)
    if candidate is None:
        return release
    if release is None:
        release = candidate.release
        _require_visible(actor, release, field="candidate")
        return release
    if candidate.release_id != release.pk:
        raise ValidationError(
            {"candidate": f"Build #{candidate.pk} is not a build of {release.name}."}
        )
    return release


def _refuse_running(actor, environment: Environment, *, lost_race: bool = False) -> None:
    running = (
        Deployment.objects.filter(environment=environment, outcome=Outcome.IN_PROGRESS)
        .select_related("environment", "release", "deployed_by")
        .first()
    )
    if running is not None:
        raise Conflict(
            f"{environment} has a deployment in progress: {_name(actor, running)}, started by "
            f"{_who(running)} at {fmt(running.deployed_at)} (deployment #{running.pk}). Finish "
            "it first.",
            details={"deployment": summary(actor, running)},
        )
    if lost_race:  # started and finished again in the meantime
        raise Conflict(
            f"Another deployment of {environment} started at the same moment; try again.",
            details={"deployment": None},
        )


def _check_undone(actor, environment: Environment, undone: Deployment) -> None:
    """A rollback undoes a finished deployment of the same environment, the latest there."""
    _require_visible_deployment(actor, undone)
    if undone.environment_id != environment.pk:
        raise ValidationError(
            {
                "rollback_of": f"Deployment #{undone.pk} ran on {undone.environment}, not on "
                f"{environment}: a rollback runs where the deployment it undoes ran."
            }
        )
    if undone.rollback_of_id is not None:
        raise ValidationError(
            {
                "rollback_of": f"Deployment #{undone.pk} is a rollback itself: deploy the version "
                "you want instead."
            }
        )
    if undone.outcome == Outcome.IN_PROGRESS:
        raise Conflict(
            f"Deployment #{undone.pk} ({_name(actor, undone)}) is still in progress: finish it "
            "(as failed) first, then roll it back.",
            details={"deployment": summary(actor, undone)},
        )
    if undone.outcome == Outcome.ROLLED_BACK:
        raise Conflict(
            f"Deployment #{undone.pk} ({_name(actor, undone)}) was rolled back already.",
            details={"deployment": summary(actor, undone)},
        )
    later = (
        Deployment.objects.filter(environment=environment, outcome=Outcome.SUCCEEDED)
        .filter(
            Q(deployed_at__gt=undone.deployed_at)
            | Q(deployed_at=undone.deployed_at, pk__gt=undone.pk)
        )
        .select_related("environment", "release", "deployed_by")
        .order_by("-deployed_at", "-id")
        .first()
    )
    if later is not None:
        raise Conflict(
            f"{environment} runs a later deployment since {fmt(later.deployed_at)}: "
            f"{_name(actor, later)} (deployment #{later.pk}); roll back that one instead.",
            details={"deployment": summary(actor, later)},
        )


def _previous_version(undone: Deployment) -> str:
    """The version that ran in the environment before ``undone``."""
    before = (
        Deployment.objects.filter(environment_id=undone.environment_id, outcome=Outcome.SUCCEEDED)
        .filter(
            Q(deployed_at__lt=undone.deployed_at)
            | Q(deployed_at=undone.deployed_at, pk__lt=undone.pk)
        )
        .order_by("-deployed_at", "-id")
        .values_list("version", flat=True)
        .first()
    )
    if before is None:
        raise ValidationError(
            {
                "version": f"Nothing is known to have run on {undone.environment} before "
                f"deployment #{undone.pk}: give the version to roll back to."
            }
        )
    return before


# --- Idempotency -------------------------------------------------------------------------------


def _replay(
    actor,
    client_id: str,
    *,
    environment: Environment,
    release_id: int | None,
    rollback_of_id: int | None,
) -> Deployment | None:
    """The deployment stored under ``client_id`` when it is the same one asked for again."""
    if not client_id:
        return None
    existing = (
        Deployment.objects.select_related("environment", "release", "deployed_by")
        .filter(client_id=client_id)
        .first()
    )
    if existing is None:
        return None
    same = (existing.environment_id, existing.release_id, existing.rollback_of_id) == (
        environment.pk,
        release_id,
        rollback_of_id,
    )
    if not same:
        raise Conflict(
            f"The client id “{client_id}” belongs to deployment #{existing.pk} "
            f"({_name(actor, existing)} to {existing.environment}, started "
            f"{fmt(existing.deployed_at)}); use a new client id for a new deployment.",
            details={"deployment": summary(actor, existing)},
        )
    existing.replayed = True
    return existing


def _insert(actor, deployment: Deployment) -> Deployment:
    """Save a new deployment; a concurrent start of the same environment (or with the same
    client id) that got past the checks meets the database's constraints: a 409 then."""
    try:
        with transaction.atomic():  # a savepoint: the outer transaction stays usable
            deployment.save()
    except IntegrityError as error:
        text = str(error)
        if deployment.client_id and (CLIENT_ID_CONSTRAINT in text or ".client_id" in text):
            replayed = _replay(
                actor,
                deployment.client_id,
                environment=deployment.environment,
                release_id=deployment.release_id,
                rollback_of_id=deployment.rollback_of_id,
            )
            if replayed is not None:
                return replayed
        if RUNNING_CONSTRAINT in text or ".environment_id" in text:
            _refuse_running(actor, deployment.environment, lost_race=True)
        raise
    deployment.replayed = False
    return deployment


# --- What a deployment moves -------------------------------------------------------------------


def _moves_release(deployment: Deployment) -> bool:
    return (
        deployment.move_release
        and deployment.release_id is not None
        and deployment.environment.kind == EnvironmentKind.PROD
    )


def _label(state: str) -> str:
    return S(state).label


def _require_mover(actor, deployment: Deployment) -> None:
    release = deployment.release
    perms.require(
        release_perms.can_transition_release(actor, release),
        f"A production deployment moves {release.name} through its lifecycle, which only "
        "release managers and the release's manager may do. Set move_release to false to "
        "report it without moving the release.",
    )


def _check_release_at_start(actor, deployment: Deployment) -> None:
    """Refuse up front a production deployment whose release could not follow it."""
    if not _moves_release(deployment):
        return
    release = deployment.release
    if deployment.rollback_of_id is not None:
        movable, already, target = (S.DEPLOYING, S.RELEASED), S.ROLLED_BACK, S.ROLLED_BACK
    else:
        movable, already, target = (S.APPROVED, S.DEPLOYING), S.RELEASED, S.RELEASED
    if release.state == already:
        return
    if release.state not in movable:
        what = "rollback" if deployment.rollback_of_id else "deployment"
        raise ValidationError(
            {
                "release": f"{release.name} is {_label(release.state)}: a production {what} "
                f"moves it to {_label(target)}, which it cannot reach from there. Set "
                "move_release to false to report it without moving the release."
            }
        )
    _require_mover(actor, deployment)


def _transition(actor, release: Release, to_state: str, reason: str) -> None:
    try:
        release_services.release_transition(
            actor=actor, release=release, to_state=to_state, reason=reason
        )
    except ValidationError as error:
        # The release's refusal (gates, states) is about the release this deployment names.
        if hasattr(error, "error_dict") and "to_state" in error.error_dict:
            raise ValidationError({"release": error.error_dict["to_state"]}) from error
        raise


def _started(actor, deployment: Deployment) -> None:
    """Starting a production deployment of an approved release moves it to deploying."""
    if deployment.rollback_of_id is None and _moves_release(deployment):
        release = locked(Release, deployment.release_id)  # locked already: see _lock_moved
        if release.state == S.APPROVED:
            _transition(
                actor,
                release,
                S.DEPLOYING,
                f"Deployment #{deployment.pk} of {deployment.version} to "
                f"{deployment.environment} started.",
            )


def _make_current(environment: Environment, deployment: Deployment) -> bool:
    current = environment.current_deployment
    if current is not None and current.finished_at and current.finished_at > deployment.finished_at:
        return False  # a deployment reported late does not replace what ran after it
    environment.current_deployment = deployment
    environment.save(update_fields=["current_deployment", "updated_at"])
    return True


def _release_after_finish(actor, deployment: Deployment) -> None:
    release_id = deployment.release_id
    if release_id is None or deployment.outcome != Outcome.SUCCEEDED:
        return
    environment = deployment.environment
    release = locked(Release, release_id)  # locked already: see _lock_moved
    if deployment.rollback_of_id is not None and environment.kind != EnvironmentKind.PROD:
        # A rollback executed outside production is a rehearsal, whatever ``move_release``.
        release_services.release_rollback_rehearsed(
            actor=actor,
            release=release,
            on=timezone.localdate(deployment.finished_at, timezone.get_default_timezone()),
            evidence=f"Rollback #{deployment.pk} to {deployment.version} on {environment} "
            f"(undoing deployment #{deployment.rollback_of_id}) succeeded.",
        )
        return
    if not _moves_release(deployment):
        return
    if deployment.rollback_of_id is not None:
        path = {S.DEPLOYING: [S.ROLLED_BACK], S.RELEASED: [S.ROLLED_BACK], S.ROLLED_BACK: []}
        target = S.ROLLED_BACK
        reason = (
            f"Rolled back by deployment #{deployment.pk} ({deployment.version} on "
            f"{environment}, undoing #{deployment.rollback_of_id})."
        )
    else:
        path = {S.APPROVED: [S.DEPLOYING, S.RELEASED], S.DEPLOYING: [S.RELEASED], S.RELEASED: []}
        target = S.RELEASED
        reason = f"Deployment #{deployment.pk} of {deployment.version} to {environment} succeeded."
    if deployment.note:
        reason = f"{reason} {deployment.note}"
    if release.state not in path:
        raise ValidationError(
            {
                "move_release": f"{release.name} is {_label(release.state)} now, so this "
                f"production deployment cannot move it to {_label(target)}. Finish with "
                "move_release false to record the outcome and leave the release as it is."
            }
        )
    for state in path[release.state]:
        _transition(actor, release, state, reason[:2000])


def _finished(actor, deployment: Deployment) -> None:
    """Everything a finished deployment moves, then the signal, in the finishing transaction."""
    environment = deployment.environment
    if deployment.outcome == Outcome.SUCCEEDED:
        _make_current(environment, deployment)
        if deployment.rollback_of_id is not None:
            undone = locked(Deployment, deployment.rollback_of_id)  # see _lock_moved
            before = audit.values(undone, ("outcome",))
            undone.outcome = Outcome.ROLLED_BACK
            undone.save(update_fields=["outcome", "updated_at"])
            audit.record_change(actor, "deployment.rolled_back", undone, before, ("outcome",))
    _release_after_finish(actor, deployment)
    deployment_finished.send(sender=Deployment, deployment=deployment, actor=actor)


# --- Services ----------------------------------------------------------------------------------


def _build(
    actor,
    environment: Environment,
    *,
    version: str,
    release: Release | None,
    candidate,
    strategy: str,
    planned_steps,
    client_id: str,
    note: str,
    rollback_of: Deployment | None,
    move_release: bool,
    hotfix: bool = False,
) -> Deployment:
    if rollback_of is not None:
        _check_undone(actor, environment, rollback_of)
        # A rollback belongs to the release of the deployment it undoes.
        if release is None and candidate is None:
            release = rollback_of.release
        elif (release.pk if release else candidate.release_id) != rollback_of.release_id:
            raise ValidationError(
                {"release": f"A rollback is of the release of deployment #{rollback_of.pk}."}
            )
    release = _release_of(actor, release, candidate)
    strategy = _strategy(strategy)
    steps = _planned_steps(strategy, planned_steps)
    version = (version or "").strip()
    if not version:
        version = candidate.version if candidate is not None else ""
    if not version and rollback_of is not None:
        version = _previous_version(rollback_of)
    if not version and release is not None:
        version = release.version
    if not version:
        raise ValidationError(
            {"version": "Give the version deployed, or the release (or build) it belongs to."}
        )
    return Deployment(
        environment=environment,
        release=release,
        candidate=candidate,
        version=version,
        strategy=strategy,
        planned_steps=steps,
        client_id=client_id,
        note=note or "",
        rollback_of=rollback_of,
        move_release=bool(move_release),
        hotfix=bool(hotfix),
        deployed_by=actor,
    )


def _start(actor, environment: Environment, **fields: Any) -> Deployment:
    _require_reporter(actor, environment)
    environment = _lock(environment)
    client_id = (fields.pop("client_id", "") or "").strip()
    release, candidate, rollback_of = fields["release"], fields["candidate"], fields["rollback_of"]
    replayed = _replay(
        actor,
        client_id,
        environment=environment,
        release_id=release.pk if release else (candidate.release_id if candidate else None),
        rollback_of_id=rollback_of.pk if rollback_of else None,
    )
    if replayed is not None:
        return replayed
    deployment = _build(actor, environment, client_id=client_id, **fields)
    deployment.deployed_at = timezone.now()
    deployment.outcome = Outcome.IN_PROGRESS
    deployment.finished_at = None
    rules.full_clean(deployment)
    _refuse_running(actor, environment)
    if deployment.release_id is not None:
        # Checked as it is under the lock, not as the caller read it.
        deployment.release = locked(Release, deployment.release_id)
    _lock_moved(release_id=None, rollback_of_id=deployment.rollback_of_id)
    _check_release_at_start(actor, deployment)
    deployment = _insert(actor, deployment)
    if deployment.replayed:
        return deployment
    rules.record_created(actor, "deployment.start", deployment, DEPLOYMENT_AUDIT)
    _started(actor, deployment)
    return deployment


@transaction.atomic
def deployment_start(
    *,
    actor,
    environment: Environment,
    version: str = "",
    release: Release | None = None,
    candidate=None,
    strategy: str = DeploymentStrategy.BIG_BANG,
    planned_steps: Sequence[int | float] = (),
    client_id: str = "",
    note: str = "",
    rollback_of: Deployment | None = None,
    move_release: bool = True,
    hotfix: bool = False,
) -> Deployment:
    """Start a deployment of ``environment`` (in progress until ``deployment_finish``).

    ``version`` defaults to the build's (``candidate``), else the release's; a build names its
    release when none is given. Refused with a 409 naming the running one while another
    deployment of the environment is in progress. In production an ``approved`` release moves
    to ``deploying`` (GO needed) unless ``move_release`` is False.
    """
    return _start(
        actor,
        environment,
        version=version,
        release=release,
        candidate=candidate,
        strategy=strategy,
        planned_steps=planned_steps,
        client_id=client_id,
        note=note,
        rollback_of=rollback_of,
        move_release=move_release,
        hotfix=hotfix,
    )


@transaction.atomic
def deployment_rollback(
    *,
    actor,
    deployment: Deployment,
    client_id: str = "",
    note: str = "",
    version: str = "",
    move_release: bool = True,
) -> Deployment:
    """Start the rollback of ``deployment``: a deployment in the same environment of ``version``
    (default: the version that ran there before it), for the same release, linked to it.

    Only a finished deployment (succeeded or failed) that no later one has replaced there can
    be rolled back. When the rollback succeeds the undone deployment becomes ``rolled_back``;
    outside production that is a rehearsal of the release's rollback, in production the release
    moves to ``rolled_back`` (unless ``move_release`` is False).
    """
    undone = Deployment.objects.select_related("environment", "release").filter(pk=deployment.pk)
    undone = undone.first()
    if undone is None:
        raise Http404("This deployment no longer exists: it was deleted meanwhile.")
    return _start(
        actor,
        undone.environment,
        version=version,
        release=undone.release,
        candidate=None,
        strategy=DeploymentStrategy.BIG_BANG,
        planned_steps=(),
        client_id=client_id,
        note=note,
        rollback_of=undone,
        move_release=move_release,
    )


def _lock_deployment(actor, deployment: Deployment) -> Deployment:
    """The deployment, re-read under its environment's lock (environment first, see above)."""
    _require_reporter(actor, deployment.environment)
    environment = _lock(deployment.environment)
    # Environment, release, then the row (relcal.db): the release as stored now, read before.
    current = Deployment.objects.filter(pk=deployment.pk).values("release_id", "rollback_of_id")
    for ids in current:
        _lock_moved(release_id=ids["release_id"], rollback_of_id=None)
    stored = locked(Deployment.objects.select_related("release", "deployed_by"), deployment.pk)
    _lock_moved(release_id=None, rollback_of_id=stored.rollback_of_id)
    stored.environment = environment
    _require_visible_deployment(actor, stored)
    return stored


def _finished_conflict(actor, deployment: Deployment) -> Conflict:
    return Conflict(
        f"Deployment #{deployment.pk} ({_name(actor, deployment)} to {deployment.environment}) "
        f"is over: it finished at {fmt(deployment.finished_at)} as "
        f"{deployment.get_outcome_display().lower()}.",
        details={"deployment": summary(actor, deployment)},
    )


@transaction.atomic
def deployment_step(*, actor, deployment: Deployment, percent: int | float) -> Deployment:
    """Record that the rollout reached ``percent`` (of traffic or instances) now.

    Steps only go up; the step reached last, reported again (a retry), changes nothing.
    """
    deployment = _lock_deployment(actor, deployment)
    if deployment.outcome != Outcome.IN_PROGRESS:
        raise _finished_conflict(actor, deployment)
    percent = _percent(percent, "percent")
    steps = list(deployment.steps)
    last = steps[-1]["percent"] if steps else None
    if last is not None and percent == last:
        deployment.replayed = True
        return deployment
    if last is not None and percent < last:
        raise ValidationError(
            {"percent": f"Deployment #{deployment.pk} reached {last}% already: steps only go up."}
        )
    if len(steps) >= MAX_STEPS:
        raise ValidationError({"percent": f"At most {MAX_STEPS} steps."})
    before = audit.values(deployment, ("steps",))
    steps.append({"percent": percent, "at": audit.jsonable(timezone.now())})
    deployment.steps = steps
    deployment.save(update_fields=["steps", "updated_at"])
    audit.record_change(actor, "deployment.step", deployment, before, ("steps",))
    deployment.replayed = False
    return deployment


@transaction.atomic
def deployment_finish(
    *,
    actor,
    deployment: Deployment,
    outcome: str,
    note: str = "",
    move_release: bool | None = None,
) -> Deployment:
    """Finish a running deployment as ``succeeded`` or ``failed``, and move what follows (see
    the module's docstring). ``rolled_back`` is not an outcome to finish with: a deployment
    becomes rolled back when a rollback of it succeeds. ``move_release`` (None: as started)
    lets the operator leave the release as it is after all.

    Finishing again with the outcome already recorded (a retry) changes nothing.
    """
    if outcome not in FINISHED:
        raise ValidationError(
            {
                "outcome": "Finish with succeeded or failed; a deployment becomes rolled back "
                "when a rollback of it succeeds."
            }
        )
    deployment = _lock_deployment(actor, deployment)
    if deployment.outcome != Outcome.IN_PROGRESS:
        if deployment.outcome == outcome:
            deployment.replayed = True
            return deployment
        raise _finished_conflict(actor, deployment)
    fields = ("outcome", "finished_at", "note", "move_release")
    before = audit.values(deployment, fields)
    deployment.outcome = outcome
    deployment.finished_at = max(timezone.now(), deployment.deployed_at)
    if note:
        deployment.note = f"{deployment.note}\n{note}" if deployment.note else note
    if move_release is not None:
        deployment.move_release = bool(move_release)
    rules.full_clean(deployment)
    deployment.save(update_fields=[*fields, "updated_at"])
    audit.record_change(actor, "deployment.finish", deployment, before, fields)
    _finished(actor, deployment)
    deployment.replayed = False
    return deployment


def _check_times(deployed_at: datetime | None, finished_at: datetime | None) -> tuple:
    require_aware(deployed_at=deployed_at, finished_at=finished_at)
    now = timezone.now()
    finished_at = rules.utc(finished_at) if finished_at is not None else now
    deployed_at = rules.utc(deployed_at) if deployed_at is not None else min(now, finished_at)
    latest = now + rules.CLOCK_SKEW
    if deployed_at > latest:
        raise ValidationError({"deployed_at": "A deployment cannot be reported before it starts."})
    if finished_at > latest:
        raise ValidationError({"finished_at": "Report a deployment once it is over."})
    if finished_at < deployed_at:
        raise ValidationError({"finished_at": "A deployment cannot finish before it starts."})
    return deployed_at, finished_at


def _record(
    actor,
    environment: Environment,
    *,
    action: str,
    outcome: str,
    deployed_at: datetime | None,
    finished_at: datetime | None,
    **fields: Any,
) -> Deployment:
    _require_reporter(actor, environment)
    if outcome not in FINISHED:
        raise ValidationError(
            {
                "outcome": "A deployment reported once it is over succeeded or failed; to follow "
                "one in progress, start it instead."
            }
        )
    environment = _lock(environment)
    client_id = (fields.pop("client_id", "") or "").strip()
    release, candidate, rollback_of = fields["release"], fields["candidate"], fields["rollback_of"]
    replayed = _replay(
        actor,
        client_id,
        environment=environment,
        release_id=release.pk if release else (candidate.release_id if candidate else None),
        rollback_of_id=rollback_of.pk if rollback_of else None,
    )
    if replayed is not None:
        return replayed
    deployment = _build(actor, environment, client_id=client_id, **fields)
    deployment.deployed_at, deployment.finished_at = _check_times(deployed_at, finished_at)
    deployment.outcome = outcome
    rules.full_clean(deployment)
    if deployment.release_id is not None:
        # Checked as it is under the lock, not as the caller read it.
        deployment.release = locked(Release, deployment.release_id)
    _lock_moved(release_id=None, rollback_of_id=deployment.rollback_of_id)
    _check_release_at_start(actor, deployment)
    deployment = _insert(actor, deployment)
    if deployment.replayed:
        return deployment
    rules.record_created(actor, action, deployment, DEPLOYMENT_AUDIT)
    _started(actor, deployment)
    _finished(actor, deployment)
    return deployment


@transaction.atomic
def deployment_record(
    *,
    actor,
    environment: Environment,
    outcome: str = DeploymentOutcome.SUCCEEDED,
    version: str = "",
    release: Release | None = None,
    candidate=None,
    strategy: str = DeploymentStrategy.BIG_BANG,
    planned_steps: Sequence[int | float] = (),
    deployed_at: datetime | None = None,
    finished_at: datetime | None = None,
    client_id: str = "",
    note: str = "",
    rollback_of: Deployment | None = None,
    move_release: bool = True,
    hotfix: bool = False,
) -> Deployment:
    """Report a deployment that is over: it started at ``deployed_at`` and finished at
    ``finished_at`` (both default to now; neither in the future) with ``outcome``.

    Everything a start and a finish would move, moves (current deployment, release, rehearsal),
    except that a deployment reported late does not replace a current one that finished later.
    """
    return _record(
        actor,
        environment,
        action="deployment.record",
        outcome=outcome,
        deployed_at=deployed_at,
        finished_at=finished_at,
        version=version,
        release=release,
        candidate=candidate,
        strategy=strategy,
        planned_steps=planned_steps,
        client_id=client_id,
        note=note,
        rollback_of=rollback_of,
        move_release=move_release,
        hotfix=hotfix,
    )


@transaction.atomic
def deployment_report(
    *,
    actor,
    environment: Environment,
    version: str,
    release: Release | None = None,
    note: str = "",
) -> Deployment:
    """Record that ``version`` (of ``release``) now runs on ``environment``: a deployment that
    started and finished now and succeeded. An empty version means the release's."""
    return _record(
        actor,
        environment,
        action="deployment.report",
        outcome=Outcome.SUCCEEDED,
        deployed_at=None,
        finished_at=None,
        version=version,
        release=release,
        candidate=None,
        strategy=DeploymentStrategy.BIG_BANG,
        planned_steps=(),
        client_id="",
        note=note,
        rollback_of=None,
        move_release=True,
    )
