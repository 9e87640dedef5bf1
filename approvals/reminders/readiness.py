"""Readiness reminders, to the release manager and the team's webhooks.

- A required check failed: when CI reports a check the gate policy requires as failed on the
  release's current candidate, once per report, while that report is still the latest of its
  name there.
- Still NO-GO: a day before the go/no-go milestone, once, when the verdict is NO-GO, listing
  what blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone

from releases import gates
from releases.gates import Context
from releases.models import Milestone, MilestoneKind, Release
from reminders import registry

from ..readiness.gates import current_candidates, latest_checks
from ..readiness.models import CheckReport, CheckStatus
from .signoffs import FORMAT, team_ids

CHECK_FAILED = "check.failed"


RELEASE_NO_GO = "release.no_go"


# How long before the go/no-go milestone a release still NO-GO is announced.
NO_GO_NOTICE = timedelta(hours=24)


def _counting(reports: list[CheckReport]) -> list[CheckReport]:
    """Those of ``reports`` that still count against their release (one on its way to go
    live): on its current candidate, the latest report of their name there, for a check its
    gate policy requires. A fixed number of queries whatever the number of reports."""
    releases = {r.candidate.release_id: r.candidate.release for r in reports}
    releases = {pk: r for pk, r in releases.items() if r.state in gates.UPCOMING}
    if not releases:
        return []
    policies = gates.policies_for(list(releases.values()))
    ctx = Context(now=timezone.now(), policies=policies)
    current = {pk: c.pk for pk, c in current_candidates(list(releases.values()), ctx).items()}
    latest = latest_checks(list(current.values()))
    out = []
    for report in reports:
        release_id = report.candidate.release_id
        if release_id not in releases or current.get(release_id) != report.candidate_id:
            continue  # superseded by a newer build, or no longer on its way
        newest = latest.get(report.candidate_id, {}).get(report.name)
        required = policies[release_id].required_checks or []
        if newest is not None and newest.pk == report.pk and report.name in required:
            out.append(report)
    return out


def failed_checks(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    # A range on ``reported_at`` (indexed): the few reports of the window, then what decides
    # whether they count, in a fixed number of queries.
    reports = list(
        CheckReport.objects.filter(
            reported_at__gt=since, reported_at__lte=now, status=CheckStatus.FAILED
        )
        .filter(candidate__release__state__in=gates.UPCOMING)
        .select_related("candidate__release__manager", "candidate__release__team")
    )
    for report in _counting(reports):
        release = report.candidate.release
        yield registry.Reminder(
            CHECK_FAILED, report, report.reported_at, registry.reachable([release.manager])
        )


def _check_message(report: CheckReport, delivery) -> registry.Message:
    candidate = report.candidate
    release = candidate.release
    lines = [
        f"{report.name} failed on {candidate.version} of {release.name} ({release.team.name}), "
        f"reported {timezone.localtime(report.reported_at).strftime(FORMAT)}.",
    ]
    if report.summary:
        lines.append(f"Summary: {report.summary}")
    lines += [
        f"The gate policy requires {report.name}: {release.name} cannot be approved or deployed "
        f"until it passes on the current candidate or the gate is waived.",
        f"Go-live: {timezone.localtime(release.go_live).strftime(FORMAT)}.",
    ]
    return registry.Message(
        subject=f"{report.name} failed on {candidate.version} ({release.name})",
        lines=lines,
        link=report.url or f"{release.get_absolute_url()}#readiness",
        action="Open the check run" if report.url else "Open the release",
    )


def _check_still_due(report: CheckReport, delivery) -> bool:
    # A new run of the check, or a new candidate, since: the failure no longer counts.
    return bool(_counting([report]))


def _check_team(report: CheckReport) -> list[int]:
    return [report.candidate.release.team_id]


def _no_go_due(milestone: Milestone) -> datetime:
    # An all-day go/no-go counts from the start of its day, as the escalation does.
    return milestone.sort_key - NO_GO_NOTICE


def no_go_releases(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    # The go/no-go milestones in (since + notice, now + notice]: a range on ``at`` and on
    # ``date`` (both indexed); then the gates of those releases only, in bulk.
    start, end = since + NO_GO_NOTICE, now + NO_GO_NOTICE
    days = Q(date__gte=timezone.localdate(start), date__lte=timezone.localdate(end))
    milestones = (
        Milestone.objects.filter(Q(at__gt=start, at__lte=end) | days)
        .filter(kind=MilestoneKind.GO_NO_GO, done=False, release__state__in=gates.UPCOMING)
        .select_related("release__manager", "release__team")
    )
    due = {
        (milestone.release_id, _no_go_due(milestone)): milestone.release
        for milestone in milestones
        if since < _no_go_due(milestone) <= now
    }
    if not due:
        return
    releases = {release.pk: release for release in due.values()}
    verdicts = gates.evaluate(list(releases.values()), now=now)
    for (release_id, moment), release in due.items():
        if verdicts[release_id].verdict == gates.Verdict.NO_GO:
            yield registry.Reminder(
                RELEASE_NO_GO, release, moment, registry.reachable([release.manager])
            )


def _go_no_go_for(release: Release, due: datetime) -> Milestone | None:
    """The open go/no-go milestone this reminder was found for, unless it moved."""
    milestones = release.milestones.filter(kind=MilestoneKind.GO_NO_GO, done=False)
    return next((m for m in milestones if _no_go_due(m) == due), None)


def _no_go_message(release: Release, delivery) -> registry.Message:
    # A team channel reads it as nobody in particular: names of releases hidden from the
    # public stay hidden.
    viewer = delivery.recipient or AnonymousUser()
    readiness = gates.readiness(release, user=viewer)
    gate = _go_no_go_for(release, delivery.due)
    moment = gate.sort_key if gate is not None else delivery.due + NO_GO_NOTICE
    when = (
        timezone.localtime(moment).strftime("%a %d %b %Y")
        if gate is not None and gate.all_day
        else timezone.localtime(moment).strftime(FORMAT)
    )
    return registry.Message(
        subject=f"{release.name} is NO-GO a day before its go/no-go on {when}",
        lines=[
            f"{release.name} ({release.team.name}, version {release.version}) is NO-GO. "
            "What blocks:",
            *(
                f"- {row.gate.label} ({row.state.label.lower()}): {row.result.reason}"
                for row in readiness.blocking()
            ),
            f"Go-live: {timezone.localtime(release.go_live).strftime(FORMAT)}.",
        ],
        link=f"{release.get_absolute_url()}#readiness",
        action="Open the readiness",
    )


def _no_go_still_due(release: Release, delivery) -> bool:
    # No longer on its way, or the go/no-go was held or moved (a new time has its own).
    if release.state not in gates.UPCOMING or _go_no_go_for(release, delivery.due) is None:
        return False
    return gates.readiness(release).verdict == gates.Verdict.NO_GO


registry.register(
    CHECK_FAILED,
    label="A required check failed on a release I manage",
    model=CheckReport,
    rule=failed_checks,
    message=_check_message,
    still_due=_check_still_due,
    teams=_check_team,
)
registry.register(
    RELEASE_NO_GO,
    label="A release I manage is still NO-GO a day before its go/no-go",
    model=Release,
    rule=no_go_releases,
    message=_no_go_message,
    still_due=_no_go_still_due,
    teams=team_ids,
)
