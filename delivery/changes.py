"""Production changes: the facts the four DORA keys are computed from, kept current.

A change (``ProductionChange``) is a production deployment (environment kind ``prod``) that
succeeded and is not a rollback: rollbacks restore, they change nothing. Its team is its
release's, or for a deployment without a release the environment's owner team; a deployment
with neither is not counted (there is no team to count it for). Its lead time runs from the
first commit of its build (the candidate's ``first_commit_at``) to the deployment's finish, in
whole seconds; without a build, a first commit, or with a first commit after the finish, it is
unknown and left out of lead time. The services it touched are its release's
(``reliability.selectors.services_touched``), or its team's without a release.

A change is failed, with the first cause found in this order:

1. ``incident``: an incident names its deployment as the cause, or names its release without a
   deployment: then the release's latest change that finished before the incident opened;
2. ``rolled_back``: a rollback of its deployment succeeded (the deployment became
   ``rolled_back``), however much later;
3. ``hotfix``: a production hotfix deployment (``Deployment.hotfix``) of the same team finished
   within ``RELCAL_WATCH_MINUTES`` after it, and it was the team's latest change before the
   hotfix. The hotfix is a change of its own, counted like any other.

The failure is computed from these facts in SQL (``_refresh``: three statements whatever the
number of changes), never accumulated, so recomputing is always safe: a finished deployment
recomputes the changes around it (``record_change``, on ``deployment_finished``), an incident
whose cause is set or changed recomputes the changes it names (``refresh_failures``, called by
``delivery.incidents``), and ``manage.py record_changes`` (``backfill``) records what was
deployed before this existed.

The rows are derived facts, not decisions anyone took: they carry no audit events of their own
(the deployment, the rollback and the incident that move them are audited where they happen).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)

from environments.models import Deployment, DeploymentOutcome, EnvironmentKind
from environments.signals import deployment_finished
from reliability.models import Service
from reliability.selectors import services_touched

from .models import ChangeService, FailureCause, Incident, ProductionChange

log = logging.getLogger(__name__)

# A change that was later rolled back stays a change (a failed one).
CHANGE_OUTCOMES = (DeploymentOutcome.SUCCEEDED, DeploymentOutcome.ROLLED_BACK)
BATCH = 2_000


def watch_window() -> timedelta:
    return timedelta(minutes=settings.RELCAL_WATCH_MINUTES)


# --- Which deployments are changes, and their facts ----------------------------------------------


def _is_change(deployment: Deployment) -> bool:
    return (
        deployment.environment.kind == EnvironmentKind.PROD
        and deployment.rollback_of_id is None
        and deployment.outcome in CHANGE_OUTCOMES
        and deployment.finished_at is not None
    )


def _team_id(deployment: Deployment) -> int | None:
    if deployment.release_id is not None:
        return deployment.release.team_id
    return deployment.environment.owner_team_id


def _build(deployment: Deployment, team_id: int) -> ProductionChange:
    candidate = deployment.candidate
    first_commit_at = candidate.first_commit_at if candidate is not None else None
    lead_time = None
    if first_commit_at is not None and first_commit_at <= deployment.finished_at:
        lead_time = int((deployment.finished_at - first_commit_at).total_seconds())
    return ProductionChange(
        deployment=deployment,
        release_id=deployment.release_id,
        team_id=team_id,
        finished_at=deployment.finished_at,
        first_commit_at=first_commit_at,
        lead_time_seconds=lead_time,
    )


def _touched_rows(changes: list[ProductionChange]) -> list[ChangeService]:
    """The ``ChangeService`` rows of ``changes`` (two or three queries, whatever the number):
    a release's services, or its team's for a change without a release."""
    by_release = services_touched(c.release_id for c in changes if c.release_id is not None)
    teams = {c.team_id for c in changes if c.release_id is None}
    by_team: dict[int, list[Service]] = {team: [] for team in teams}
    if teams:
        for service in Service.objects.filter(team_id__in=teams):
            by_team[service.team_id].append(service)
    rows = []
    for change in changes:
        touched = by_release[change.release_id] if change.release_id else by_team[change.team_id]
        rows.extend(
            ChangeService(
                change=change,
                service=service,
                finished_at=change.finished_at,
                lead_time_seconds=change.lead_time_seconds,
                failed=change.failed,
            )
            for service in touched
        )
    return rows


# --- Failures ------------------------------------------------------------------------------------


def _later(finished, pk) -> Q:
    """Rows finishing after the change at (``finished``, ``pk``), ties broken by id, so that
    "the latest change before" is always one change."""
    return Q(finished_at__gt=finished) | Q(finished_at=finished, pk__gt=pk)


def _earlier(finished, pk) -> Q:
    return Q(finished_at__lt=finished) | Q(finished_at=finished, pk__lt=pk)


def _outer(name: str, depth: int = 1) -> OuterRef:
    ref = OuterRef(name)
    for _ in range(depth - 1):
        ref = OuterRef(ref)
    return ref


def _failure() -> Case:
    """The first cause of failure of each change, as one SQL expression over the facts."""
    change = (_outer("finished_at"), _outer("pk"))
    change_from_inside = (_outer("finished_at", 2), _outer("pk", 2))
    # 1. An incident naming the deployment, or naming the release (without a deployment) and
    # opened after this change with no later change of the release before it opened.
    names_deployment = Exists(Incident.objects.filter(deployment_id=OuterRef("deployment_id")))
    later_of_release = ProductionChange.objects.filter(
        _later(*change_from_inside),
        release_id=_outer("release_id", 2),
        finished_at__lt=OuterRef("opened_at"),
    )
    names_release = Exists(
        Incident.objects.filter(
            deployment__isnull=True,
            release_id=OuterRef("release_id"),
            opened_at__gt=OuterRef("finished_at"),
        ).filter(~Exists(later_of_release))
    )
    # 2. Rolled back, whenever.
    rolled_back = Exists(
        Deployment.objects.filter(
            pk=OuterRef("deployment_id"), outcome=DeploymentOutcome.ROLLED_BACK
        )
    )
    # 3. A hotfix of the team within the watch window, with no other change of the team between.
    between = ProductionChange.objects.filter(
        _later(*change_from_inside),
        _earlier(OuterRef("finished_at"), OuterRef("pk")),
        team_id=_outer("team_id", 2),
    )
    hotfix = Exists(
        ProductionChange.objects.filter(
            _later(*change), team_id=OuterRef("team_id"), deployment__hotfix=True
        )
        .annotate(
            window_start=ExpressionWrapper(
                F("finished_at") - Value(watch_window()), output_field=DateTimeField()
            )
        )
        .filter(window_start__lte=OuterRef("finished_at"))
        .filter(~Exists(between))
    )
    return Case(
        When(names_deployment | names_release, then=Value(FailureCause.INCIDENT)),
        When(rolled_back, then=Value(FailureCause.ROLLED_BACK)),
        When(hotfix, then=Value(FailureCause.HOTFIX)),
        default=Value(FailureCause.NONE),
    )


def _refresh(affected: Q) -> None:
    """Recompute ``failure`` and ``failed`` of the changes matching ``affected``, and of their
    ``ChangeService`` rows: three UPDATE statements, whatever the number of rows."""
    changes = ProductionChange.objects.filter(affected)
    changes.update(failure=_failure())
    changes.update(failed=Case(When(failure=FailureCause.NONE, then=Value(False)), default=True))
    ChangeService.objects.filter(change__in=changes.values("pk")).update(
        failed=Subquery(ProductionChange.objects.filter(pk=OuterRef("change_id")).values("failed"))
    )


@transaction.atomic
def refresh_failures(
    *, deployment_ids: Iterable[int] = (), release_ids: Iterable[int] = ()
) -> None:
    """Recompute whether the changes of ``deployment_ids`` and every change of ``release_ids``
    failed, from the incidents, rollbacks and hotfixes now stored (three statements).

    Call it when an incident's cause is set, changed or removed, with the old cause's
    deployment and release as well as the new one's."""
    deployment_ids = {pk for pk in deployment_ids if pk is not None}
    release_ids = {pk for pk in release_ids if pk is not None}
    if not deployment_ids and not release_ids:
        return
    _refresh(Q(deployment_id__in=deployment_ids) | Q(release_id__in=release_ids))


def _around(change: ProductionChange) -> Q:
    """The changes a new change can move: itself, its release's (it may now be the latest before
    a release's incident), and its team's within the watch window before it (a hotfix, or a
    change reported late between a change and its hotfix)."""
    around = Q(pk=change.pk) | Q(
        team_id=change.team_id,
        finished_at__gte=change.finished_at - watch_window(),
        finished_at__lte=change.finished_at,
    )
    if change.release_id is not None:
        around |= Q(release_id=change.release_id)
    return around


# --- Recording -----------------------------------------------------------------------------------


@transaction.atomic
def record_change(deployment: Deployment) -> ProductionChange | None:
    """Record ``deployment`` as a production change (or bring its row up to date), and
    recompute the failures it can move; None when it is not a change.

    A production rollback that succeeded is not a change: it marks the change it undid as
    rolled back. Recording again changes nothing that is already right."""
    deployment = Deployment.objects.select_related("environment", "release", "candidate").get(
        pk=deployment.pk
    )
    if deployment.rollback_of_id is not None:
        prod = deployment.environment.kind == EnvironmentKind.PROD
        if prod and deployment.outcome == DeploymentOutcome.SUCCEEDED:
            _refresh(Q(deployment_id=deployment.rollback_of_id))
        return None
    team_id = _team_id(deployment)
    if not _is_change(deployment) or team_id is None:
        return None
    built = _build(deployment, team_id)
    fields = ("release_id", "team_id", "finished_at", "first_commit_at", "lead_time_seconds")
    change, _ = ProductionChange.objects.update_or_create(
        deployment=deployment, defaults={name: getattr(built, name) for name in fields}
    )
    change.touched.all().delete()
    ChangeService.objects.bulk_create(_touched_rows([change]))
    _refresh(_around(change))
    change.refresh_from_db()
    return change


def backfill() -> int:
    """Record every production change deployed before changes were recorded (or missed):
    batches of ``BATCH`` deployments, then every failure recomputed. Returns how many changes
    it added; running it again adds none."""
    eligible = Deployment.objects.filter(
        environment__kind=EnvironmentKind.PROD,
        outcome__in=CHANGE_OUTCOMES,
        rollback_of__isnull=True,
        finished_at__isnull=False,
        change__isnull=True,
    ).select_related("environment", "release", "candidate")
    added, last = 0, 0
    while True:
        batch = list(eligible.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            break
        last = batch[-1].pk
        changes = [
            _build(deployment, team_id)
            for deployment in batch
            if (team_id := _team_id(deployment)) is not None
        ]
        with transaction.atomic():
            ProductionChange.objects.bulk_create(changes)
            ChangeService.objects.bulk_create(_touched_rows(changes), ignore_conflicts=True)
        added += len(changes)
    with transaction.atomic():
        _refresh(Q())
    return added


# --- Wiring --------------------------------------------------------------------------------------


def on_deployment_finished(sender, deployment, actor=None, **kwargs) -> None:
    """In the finishing transaction, in a savepoint: a failure here is logged, and must not lose
    the deployment's finish (``manage.py record_changes`` records what was missed)."""
    try:
        with transaction.atomic():
            record_change(deployment)
    except Exception:
        log.exception("Recording deployment #%s as a production change failed.", deployment.pk)


def connect() -> None:
    deployment_finished.connect(on_deployment_finished, dispatch_uid="delivery-record-change")
