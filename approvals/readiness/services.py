"""Every write of release readiness: a candidate reported by CI, a check report (given, or read
from a JUnit or SARIF file), a waiver. Atomic and audited like the other services.

Who reports: members of the release's team (a CI token belongs to a team member or to a
service user added to the team) and release managers. Each write locks the release row, the
lock ``release_transition`` takes too, so a report and a transition never interleave: a
failing check committed first stops the transition; one committed after finds it done.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import signatures
from relcal import audit, lockout
from relcal.db import locked
from relcal.errors import Conflict
from relcal.times import require_aware
from releases import gates
from releases import permissions as release_perms
from releases.models import Release, ReleaseState

from ..services import printed_name
from . import reports
from .models import CheckReport, CheckSource, CheckStatus, ReleaseCandidate, Waiver

log = logging.getLogger(__name__)

SHIPPED = (ReleaseState.RELEASED, ReleaseState.CANCELLED)
MAX_DETAILS_BYTES = 64 * 1024
CANDIDATE_FIELDS = (
    "version",
    "commit_sha",
    "artifact_digest",
    "build_url",
    "first_commit_at",
    "last_commit_at",
)
CHECK_FIELDS = ("name", "status", "url", "summary", "source")


def can_report(user, release: Release) -> bool:
    """Members of the release's team and release managers report builds and checks."""
    return release_perms.can_edit_release(user, release) or release_perms.is_team_member(
        user, release.team
    )


def _lock(release: Release) -> Release:
    return locked(Release.objects.select_related("team"), release.pk)


def _current(release: Release) -> ReleaseCandidate | None:
    return release.candidates.order_by("-id").first()


@transaction.atomic
def candidate_report(
    *,
    actor,
    release: Release,
    version: str,
    commit_sha: str,
    artifact_digest: str,
    build_url: str = "",
    first_commit_at: datetime | None = None,
    last_commit_at: datetime | None = None,
) -> ReleaseCandidate:
    """Record a build as the release's current candidate; the one before is superseded, and
    the sign-offs given for it turn stale (the fingerprint names the build)."""
    release = _lock(release)
    release_perms.require(
        can_report(actor, release),
        f"Only members of {release.team.name} and release managers report its builds.",
    )
    if release.state in SHIPPED:
        raise Conflict(
            f"{release.name} is {ReleaseState(release.state).label.lower()}: it takes no new "
            "builds.",
            details={"state": release.state},
        )
    require_aware(first_commit_at=first_commit_at, last_commit_at=last_commit_at)
    if first_commit_at and last_commit_at and first_commit_at > last_commit_at:
        raise ValidationError({"first_commit_at": "The first commit comes before the last one."})
    taken = release.candidates.filter(version=version).first()
    if taken is not None:
        raise Conflict(
            f"{version} was reported already for {release.name}; a candidate never changes, "
            "so give the new build its own version.",
            details={"candidate": taken.pk},
        )
    previous = _current(release)
    candidate = ReleaseCandidate(
        release=release,
        version=version,
        commit_sha=commit_sha,
        artifact_digest=artifact_digest,
        build_url=build_url,
        first_commit_at=first_commit_at,
        last_commit_at=last_commit_at,
        reported_by=actor,
        reported_at=timezone.now(),
    )
    candidate.full_clean(exclude=["release", "reported_by"])
    candidate.save()
    audit.record(
        actor=actor,
        action="candidate.report",
        obj=candidate,
        after={
            **audit.values(candidate, CANDIDATE_FIELDS),
            "supersedes": previous.version if previous else None,
        },
    )
    return candidate


def _require_current(candidate: ReleaseCandidate, release: Release) -> None:
    current = _current(release)
    if current is None or current.pk != candidate.pk:
        raise Conflict(
            f"{candidate.version} is superseded by {current.version}: report to the current "
            "candidate.",
            details={"current_candidate": current.pk if current else None},
        )


def _clean_details(details: Any) -> Any:
    if details is None:
        return None
    try:
        size = len(json.dumps(details).encode())
    except (TypeError, ValueError, RecursionError) as error:
        raise ValidationError({"details": "Give details as JSON."}) from error
    if size > MAX_DETAILS_BYTES:
        raise ValidationError({"details": f"Keep details under {MAX_DETAILS_BYTES // 1024} KB."})
    return details


@transaction.atomic
def check_report(
    *,
    actor,
    candidate: ReleaseCandidate,
    name: str,
    status: str,
    url: str = "",
    summary: str = "",
    details: Any = None,
    source: str = CheckSource.API,
) -> CheckReport:
    """Record one run of one check on the current candidate; the latest run of a name counts."""
    release = _lock(candidate.release)
    release_perms.require(
        can_report(actor, release),
        f"Only members of {release.team.name} and release managers report its checks.",
    )
    _require_current(candidate, release)
    if status not in CheckStatus.values:
        raise ValidationError(
            {"status": f"Unknown status “{status}”; use {', '.join(CheckStatus.values)}."}
        )
    report = CheckReport(
        candidate=candidate,
        name=name,
        status=status,
        url=url,
        summary=summary[:500],
        details=_clean_details(details),
        source=source,
        reported_by=actor,
        reported_at=timezone.now(),
    )
    report.full_clean(exclude=["candidate", "reported_by"])
    report.save()
    audit.record(
        actor=actor,
        action="check.report",
        obj=report,
        release_id=release.pk,
        after={**audit.values(report, CHECK_FIELDS), "candidate": candidate.version},
    )
    return report


PARSERS = {CheckSource.JUNIT: reports.parse_junit, CheckSource.SARIF: reports.parse_sarif}


def check_report_file(
    *, actor, candidate: ReleaseCandidate, name: str, kind: str, upload, url: str = ""
) -> CheckReport:
    """A JUnit XML or SARIF file read into a check report (its status, summary and counts)."""
    parsed = PARSERS[kind](upload, kind)
    return check_report(
        actor=actor,
        candidate=candidate,
        name=name,
        status=parsed.status,
        url=url,
        summary=parsed.summary,
        details=parsed.details,
        source=kind,
    )


def can_waive(user) -> bool:
    return user.is_authenticated and user.has_perm("approvals.waive_gate")


@lockout.password_reentry  # outside the transaction: a wrong password is counted
@transaction.atomic
def waiver_record(
    *,
    actor,
    candidate: ReleaseCandidate,
    gate: str,
    reason: str,
    password: str = "",
    signing_ticket: str = "",
) -> Waiver:
    """Let one failing gate pass for one candidate: an electronic signature (the password
    again, a written reason), audited; it lapses when a new candidate is reported."""
    if not can_waive(actor):
        raise PermissionDenied("Only the change advisory board waives gates.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why the gate may be waived: a waiver needs a reason."}
        )
    if len(reason) > 2_000:
        raise ValidationError({"reason": "Keep the reason under 2,000 characters."})
    try:
        signature = signatures.verify(
            actor,
            password=password,
            signing_ticket=signing_ticket,
            used_for=f"waiver of {gate} on candidate {candidate.pk}",
        )
    except lockout.WrongPassword:
        log.warning("Waiver refused: wrong password for %s on candidate %s", actor, candidate.pk)
        raise
    release = _lock(candidate.release)
    _require_current(candidate, release)
    row = gates.readiness(release, user=actor).row(gate)
    if row is None:
        names = ", ".join(g.name for g in gates.gates())
        raise ValidationError({"gate": f"Unknown gate “{gate}”; the gates are {names}."})
    if not row.gate.waivable:
        raise ValidationError(
            {
                "gate": f"{row.gate.label} is not waived by the change advisory board: "
                f"{row.gate.waived_by} lets one release pass it."
            }
        )
    if row.result.state != gates.GateState.FAIL:
        raise ValidationError(
            {
                "gate": f"{row.gate.label} is {row.state.label.lower()}: only a failing gate "
                "is waived."
            }
        )
    if row.waiver:
        raise Conflict(f"{row.gate.label} is waived already for {candidate.version}.")
    waiver = Waiver(
        candidate=candidate,
        gate=gate,
        reason=reason,
        signer=actor,
        signer_name=printed_name(actor),
        signed_at=timezone.now(),
    )
    waiver.save()
    audit.record(
        actor=actor,
        action="waiver.record",
        obj=waiver,
        release_id=release.pk,
        after={
            "gate": gate,
            "candidate": candidate.version,
            "digest": candidate.artifact_digest,
            "reason": reason,
            "signer": waiver.signer_name,
            "failing": row.result.reason,
            "authentication": signature.as_audit(),
        },
    )
    return waiver
