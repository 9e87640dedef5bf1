"""The readiness gates approvals knows (registered in ``ApprovalsConfig.ready`` through
``releases.gates``): the required checks of the current candidate, the sign-offs, and the
waivers that let a failing gate pass for one candidate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Count, Max, Sum

from releases import gates
from releases.gates import Context, GateResult, failed, passed, pending
from releases.models import Milestone, Release, ReleaseState

from .. import selectors
from ..models import ReleaseRequirement, SignOff
from .models import CheckReport, CheckStatus, ReleaseCandidate, Waiver

BEFORE_FREEZE = (ReleaseState.DRAFT, ReleaseState.PLANNED)
OK_STATUSES = (CheckStatus.PASSED, CheckStatus.NEUTRAL)


def current_candidates(releases: Sequence[Release], ctx: Context) -> dict[int, ReleaseCandidate]:
    """release id → its newest candidate (one query, shared by the gates and the waivers)."""

    def load() -> dict[int, ReleaseCandidate]:
        ids = [release.pk for release in releases]
        newest = (
            ReleaseCandidate.objects.filter(release_id__in=ids)
            .values("release_id")
            .annotate(newest=Max("id"))
            .values("newest")
        )
        return {c.release_id: c for c in ReleaseCandidate.objects.filter(pk__in=newest)}

    return ctx.memo("approvals.current_candidates", load)


def latest_checks(candidate_ids: list[int]) -> dict[int, dict[str, CheckReport]]:
    """candidate id → check name → its latest report (one query)."""
    latest = (
        CheckReport.objects.filter(candidate_id__in=candidate_ids)
        .values("candidate_id", "name")
        .annotate(latest=Max("id"))
        .values("latest")
    )
    out: dict[int, dict[str, CheckReport]] = defaultdict(dict)
    for report in CheckReport.objects.filter(pk__in=latest):
        out[report.candidate_id][report.name] = report
    return out


def checks_result(
    required: list[str], candidate: ReleaseCandidate | None, reports: dict[str, CheckReport]
) -> GateResult:
    if not required:
        return passed("No checks are required by the gate policy.")
    if candidate is None:
        return pending(f"No release candidate reported yet; {', '.join(required)} required")
    failing = [
        reports[name]
        for name in required
        if reports.get(name) and reports[name].status == CheckStatus.FAILED
    ]
    if failing:
        first = failing[0]
        names = ", ".join(report.name for report in failing)
        return failed(f"{names} failed on {candidate.version}", first.url)
    waiting = [
        name
        for name in required
        if name not in reports or reports[name].status == CheckStatus.PENDING
    ]
    if waiting:
        missing = [name for name in waiting if name not in reports]
        words = [
            f"{name} not reported" if name in missing else f"{name} pending" for name in waiting
        ]
        return pending(f"{', '.join(words)} on {candidate.version}")
    return passed(f"{', '.join(required)} passed on {candidate.version}")


def checks(releases: Sequence[Release], ctx: Context) -> dict[int, GateResult]:
    candidates = current_candidates(releases, ctx)
    reports = latest_checks([candidate.pk for candidate in candidates.values()])
    out = {}
    for release in releases:
        candidate = candidates.get(release.pk)
        found = reports.get(candidate.pk, {}) if candidate else {}
        out[release.pk] = checks_result(
            list(ctx.policies[release.pk].required_checks or []), candidate, found
        )
    return out


def signoffs(releases: Sequence[Release], ctx: Context) -> dict[int, GateResult]:
    ids = [release.pk for release in releases]
    required: dict[int, list[ReleaseRequirement]] = defaultdict(list)
    for requirement in ReleaseRequirement.objects.filter(release_id__in=ids).order_by("pk"):
        required[requirement.release_id].append(requirement)
    # Telling fresh from stale needs each signed snapshot rebuilt and hashed: only for releases
    # someone signed. Without a signature every required role is simply missing.
    signed = set(
        SignOff.objects.filter(release_id__in=ids).values_list("release_id", flat=True).distinct()
    )
    loaded = {
        release.pk: release
        for release in selectors.with_approval_data(Release.objects.filter(pk__in=signed))
    }
    out = {}
    for release in releases:
        if not required[release.pk]:
            if release.state in BEFORE_FREEZE:
                out[release.pk] = pending("Asked for when the scope freezes")
            else:
                out[release.pk] = passed("No sign-off required by the approval policy.")
            continue
        if release.pk not in loaded:
            roles = [selectors.RoleStatus(requirement) for requirement in required[release.pk]]
            out[release.pk] = pending("; ".join(p for role in roles for p in role.problems()))
            continue
        status = selectors.approval_status(loaded[release.pk])
        if status.complete:
            roles = ", ".join(role.label for role in status.roles)
            out[release.pk] = passed(f"{roles} approved.")
        elif any(role.rejecting for role in status.roles):
            out[release.pk] = failed("; ".join(status.problems()))
        else:
            out[release.pk] = pending("; ".join(status.problems()))
    return out


def waivers(releases: Sequence[Release], ctx: Context) -> dict[int, dict[str, str]]:
    candidates = current_candidates(releases, ctx)
    by_candidate = {candidate.pk: release_id for release_id, candidate in candidates.items()}
    out: dict[int, dict[str, str]] = defaultdict(dict)
    for waiver in Waiver.objects.filter(candidate_id__in=by_candidate).order_by("signed_at", "id"):
        release_id = by_candidate[waiver.candidate_id]
        version = candidates[release_id].version
        out[release_id][waiver.gate] = (
            f"waived by {waiver.signer_name} for {version}: {waiver.reason}"
        )
    return out


# --- Fingerprints: what the answers above depend on, as a few aggregates -------------------------


def _print(queryset, moment: str, **aggregates) -> tuple[tuple, object]:
    values = queryset.aggregate(
        count=Count("pk"), newest=Max("pk"), moment=Max(moment), **aggregates
    )
    return tuple(values.values()), values["moment"]


def checks_print(release_ids) -> tuple[tuple, object]:
    builds, built = _print(
        ReleaseCandidate.objects.filter(release_id__in=release_ids), "reported_at"
    )
    reports, reported = _print(
        CheckReport.objects.filter(candidate__release_id__in=release_ids), "reported_at"
    )
    return (builds, reports), max(filter(None, (built, reported)), default=None)


def signoffs_print(release_ids) -> tuple[tuple, object]:
    # What the fingerprint signed covers changes too (scope, milestones, the release's own
    # fields): those rows are in the plan gates' prints; here the signatures and requirements.
    signed, moment = _print(SignOff.objects.filter(release_id__in=release_ids), "signed_at")
    required, _ = _print(ReleaseRequirement.objects.filter(release_id__in=release_ids), "taken_at")
    milestones, changed = _print(
        Milestone.objects.filter(release_id__in=release_ids),
        "updated_at",
        sequence=Sum("sequence"),
    )
    return (signed, required, milestones), max(filter(None, (moment, changed)), default=None)


def waivers_print(release_ids) -> tuple[tuple, object]:
    return _print(Waiver.objects.filter(candidate__release_id__in=release_ids), "signed_at")


def register() -> None:
    gates.register_gate("checks", "Required checks", checks, order=10, fingerprint=checks_print)
    gates.register_gate("signoffs", "Sign-offs", signoffs, order=20, fingerprint=signoffs_print)
    gates.register_waivers("approvals", waivers, fingerprint=waivers_print)
