"""Error-budget and post-release-watch reminders (found by the reminders app's autodiscovery):

- ``budget.exhausted``: an SLO spent its error budget and an error-budget freeze started; to
  the members of the service's team, the managers of the releases on their way that touch the
  service, and the team's webhooks.
- ``budget.recovered``: the budget is back above the at-risk threshold and the freeze ended;
  to the same people.
- ``deployment.degraded``: a page-level burn during a production deployment's post-release
  watch; to the release manager, whoever started the deployment, and the release team's
  webhooks, with the figures and the rollback plan. The rule also closes the watches whose
  window has passed (``watch.close_watches``), as the booking expiry runs from its rule, so that
  watches end even when no SLO is evaluated.

A message names a private team's service only to those who may see that team.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from releases import gates
from releases.models import Release, Team
from releases.selectors import sees_every_team
from reminders import registry

from . import wording
from .models import BudgetFreeze, DeploymentWatch, Service, WatchState
from .policy import policy_for
from .selectors import releases_touching_q
from .watch import close_watches

EXHAUSTED = "budget.exhausted"
RECOVERED = "budget.recovered"
DEGRADED = "deployment.degraded"
FORMAT = "%a %d %b %Y %H:%M %Z"


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime(FORMAT)


def may_see(delivery, team: Team) -> bool:
    """Whether the reader of ``delivery`` may read the names of ``team``'s services."""
    if not team.is_private:
        return True
    if delivery.recipient_id is None:  # a team's webhook: its own team's channel
        return delivery.webhook is not None and delivery.webhook.team_id == team.pk
    user = delivery.recipient
    return sees_every_team(user) or team.members.filter(pk=user.pk).exists()


# --- An error budget spent, and back -----------------------------------------------------------


def freeze_recipients(service: Service) -> tuple:
    """The service team's members and the managers of the releases on their way touching it."""
    releases = (
        Release.objects.filter(state__in=gates.UPCOMING)
        .filter(releases_touching_q(service))
        .select_related("manager")
    )
    return registry.reachable(
        [*service.team.members.all(), *(release.manager for release in releases)]
    )


def _budget_freezes(moment: str, now: datetime, since: datetime):
    return BudgetFreeze.objects.filter(
        **{f"{moment}__gt": since, f"{moment}__lte": now}
    ).select_related("slo__service__team", "freeze")


def exhausted(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    for budget_freeze in _budget_freezes("started_at", now, since):
        service = budget_freeze.slo.service
        yield registry.Reminder(
            EXHAUSTED, budget_freeze, budget_freeze.started_at, freeze_recipients(service)
        )


def recovered(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    for budget_freeze in _budget_freezes("ended_at", now, since):
        service = budget_freeze.slo.service
        yield registry.Reminder(
            RECOVERED, budget_freeze, budget_freeze.ended_at, freeze_recipients(service)
        )


def _service_link(service: Service, visible: bool) -> str:
    return service.get_absolute_url() if visible else reverse("releases:freezes")


def _budget_message(kind: str):
    def message(budget_freeze: BudgetFreeze, delivery) -> registry.Message:
        slo = budget_freeze.slo
        service = slo.service
        visible = may_see(delivery, service.team)
        label = wording.slo_label(slo, service.name if visible else wording.HIDDEN_SERVICE)
        policy = policy_for(service.team_id)
        threshold = wording.percent(policy.at_risk_below)
        team = service.team.name if visible else "its team"
        if kind == EXHAUSTED:
            subject = f"Error budget spent: {label}"
            lines = [
                f"{label} has spent its error budget ({wording.left(slo.budget_remaining)}, "
                f"{wording.burn_text(slo.burn_rates)}).",
                f"An error-budget freeze for {team} started {_local(budget_freeze.started_at)}.",
                (
                    "Releases touching the service are blocked, except those whose scope is only "
                    f"fixes and security items, until more than {threshold} of the budget is "
                    "back. An SRE may override the gate for one release."
                    if policy.blocks
                    else "The team's policy only warns: releases may still go live."
                ),
            ]
            action = "Open the service"
        else:
            subject = f"Error budget back: {label}"
            lines = [
                f"{label} has {wording.left(slo.budget_remaining)} of its error budget again, "
                f"above {threshold}.",
                f"The error-budget freeze for {team} ended {_local(budget_freeze.ended_at)}.",
            ]
            action = "Open the service"
        return registry.Message(
            subject=subject, lines=lines, link=_service_link(service, visible), action=action
        )

    return message


def _exhausted_still_due(budget_freeze: BudgetFreeze, delivery) -> bool:
    return budget_freeze.ended_at is None  # back already: the "recovered" one says it all


def _budget_team(budget_freeze: BudgetFreeze) -> list[int]:
    return [budget_freeze.slo.service.team_id]


# --- A production deployment degraded ---------------------------------------------------------


def degraded(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    close_watches(now)
    watches = DeploymentWatch.objects.filter(
        state=WatchState.DEGRADED, degraded_at__gt=since, degraded_at__lte=now
    ).select_related(
        "deployment__release__manager", "deployment__deployed_by", "deployment__environment"
    )
    for watch in watches:
        deployment = watch.deployment
        release = deployment.release
        people = [release.manager if release else None, deployment.deployed_by]
        yield registry.Reminder(DEGRADED, watch, watch.degraded_at, registry.reachable(people))


def figure_line(entry: dict, delivery, teams: dict[int, Team]) -> str:
    team = teams.get(entry.get("team_id"))
    return "- " + wording.figure_text(
        entry, hidden=team is not None and not may_see(delivery, team)
    )


def rollback_call(watch: DeploymentWatch) -> str:
    return f"POST /api/v1/deployments/{watch.deployment_id}/rollback/"


def _degraded_message(watch: DeploymentWatch, delivery) -> registry.Message:
    deployment = watch.deployment
    release = deployment.release
    teams = Team.objects.in_bulk({entry.get("team_id") for entry in watch.figures or []} - {None})
    minutes = round((watch.degraded_at - watch.started_at).total_seconds() / 60)
    shipped = (
        release.name
        if deployment.version in release.name
        else f"{release.name} ({deployment.version})"
    )
    lines = [
        f"{shipped} ({release.team.name}) reached {deployment.environment.name} at "
        f"{_local(watch.started_at)}; {minutes} min later, at {_local(watch.degraded_at)}, a "
        "page-level burn:",
        *(figure_line(entry, delivery, teams) for entry in watch.figures or []),
        "The deployment is marked degraded.",
    ]
    plan = (release.rollback_plan or "").strip()
    lines.append(f"Rollback plan: {plan[:1000]}" if plan else "No rollback plan is written.")
    lines.append(f"Roll back through the API: {rollback_call(watch)}")
    return registry.Message(
        subject=f"Degraded after deploying {shipped} to {deployment.environment.name}",
        lines=lines,
        link=f"{release.get_absolute_url()}#reliability",
        action="Open the rollback plan",
    )


def _degraded_team(watch: DeploymentWatch) -> list[int]:
    release = watch.deployment.release
    return [release.team_id] if release is not None else []


registry.register(
    EXHAUSTED,
    label="An error budget of my team's services is spent (error-budget freeze)",
    model=BudgetFreeze,
    rule=exhausted,
    message=_budget_message(EXHAUSTED),
    still_due=_exhausted_still_due,
    teams=_budget_team,
)
registry.register(
    RECOVERED,
    label="An error budget is back and its freeze ended",
    model=BudgetFreeze,
    rule=recovered,
    message=_budget_message(RECOVERED),
    teams=_budget_team,
)
registry.register(
    DEGRADED,
    label="A production deployment I made or manage degraded during its watch",
    model=DeploymentWatch,
    rule=degraded,
    message=_degraded_message,
    teams=_degraded_team,
)
