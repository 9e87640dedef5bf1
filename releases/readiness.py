"""The readiness gates about a release's plan (``releases.gates`` has the registry): its
prerequisites, blocking scope items, freeze windows and rollback rehearsal. Registered in
``ReleasesConfig.ready``; each answers for many releases in one query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from django.db.models import Count, Max, Q, Sum

from relcal.times import fmt

from . import gates
from .gates import Context, GateResult, failed, passed, pending
from .models import (
    DependencyKind,
    FreezeOrigin,
    FreezeWindow,
    Release,
    ReleaseDependency,
    ReleaseState,
    ScopeItem,
)

S = ReleaseState
GONE = (S.CANCELLED, S.ROLLED_BACK)
PARTNER_READY = (S.APPROVED, S.DEPLOYING, S.RELEASED)


def _need(release: Release, other: Release, ctx: Context) -> tuple[str, str]:
    """("fail" | "pending" | "", reason) for a "needs shipped first" prerequisite."""
    name = ctx.release_name(other)
    if other.state == S.RELEASED:
        return "", ""
    if other.state in GONE:
        return "fail", f"{name} (needed first) was {S(other.state).label.lower()}"
    other_end = other.window[1]
    if other_end > release.go_live:
        when = "ends" if other.state == S.DEPLOYING else "goes live"
        moment = other_end if other.state == S.DEPLOYING else other.go_live
        return "fail", f"{name} (needed first) {when} {fmt(moment)}, after this release starts"
    if other.state == S.DEPLOYING:
        return "", ""  # deploying in a window that ends before this one starts
    return "pending", f"{name} (needed first) is not released yet (goes live {fmt(other.go_live)})"


def _together(other: Release, ctx: Context) -> tuple[str, str]:
    name = ctx.release_name(other)
    if other.state in PARTNER_READY:
        return "", ""
    if other.state in GONE:
        return "fail", f"{name} (ships together) was {S(other.state).label.lower()}"
    return "pending", f"{name} (ships together) is not approved yet"


def prerequisites(releases: Sequence[Release], ctx: Context) -> dict[int, GateResult]:
    links = defaultdict(list)
    for dependency in ReleaseDependency.objects.filter(
        release__in=[release.pk for release in releases]
    ).select_related("depends_on"):
        links[dependency.release_id].append(dependency)
    # Which prerequisites the reader may see, in one query for all (their names are hidden).
    ctx.visible(d.depends_on_id for found in links.values() for d in found)
    out = {}
    for release in releases:
        problems = {"fail": [], "pending": []}
        for dependency in links[release.pk]:
            other = dependency.depends_on
            if dependency.kind == DependencyKind.NEEDS:
                state, reason = _need(release, other, ctx)
            else:
                state, reason = _together(other, ctx)
            if state:
                problems[state].append(reason)
        if problems["fail"]:
            out[release.pk] = failed("; ".join(problems["fail"] + problems["pending"]))
        elif problems["pending"]:
            out[release.pk] = pending("; ".join(problems["pending"]))
        elif links[release.pk]:
            out[release.pk] = passed("Every prerequisite is shipped or ready.")
        else:
            out[release.pk] = passed("No prerequisites.")
    return out


def blockers(releases: Sequence[Release], ctx: Context) -> dict[int, GateResult]:
    open_items = defaultdict(list)
    for item in ScopeItem.objects.filter(
        release__in=[release.pk for release in releases], blocker=True, done=False
    ).order_by("id"):
        open_items[item.release_id].append(str(item))
    return {
        release.pk: (
            failed(f"Open blocker{'s' * (len(items) > 1)}: {', '.join(items)}")
            if (items := open_items[release.pk])
            else passed("No open blocker in the scope.")
        )
        for release in releases
    }


def freezes(releases: Sequence[Release], ctx: Context) -> dict[int, GateResult]:
    starts = [release.window[0] for release in releases]
    ends = [release.window[1] for release in releases]
    teams = {release.team_id for release in releases}
    # Error-budget freezes stop only what the error-budget gate (reliability) says they stop.
    windows = list(
        FreezeWindow.objects.filter(start__lt=max(ends), end__gt=min(starts))
        .filter(Q(team__isnull=True) | Q(team_id__in=teams))
        .exclude(origin=FreezeOrigin.ERROR_BUDGET)
    )
    out = {}
    for release in releases:
        start, end = release.window
        hit = [
            window
            for window in windows
            if window.start < end
            and window.end > start
            and window.team_id in (None, release.team_id)
        ]
        names = ", ".join(f"“{window.name}”" for window in hit)
        if not hit:
            out[release.pk] = passed("The deployment window is clear of freeze windows.")
        elif release.freeze_override_reason:
            out[release.pk] = passed(
                f"Inside {names}, overridden: {release.freeze_override_reason}"
            )
        else:
            out[release.pk] = failed(f"The deployment window falls in {names}")
    return out


def rollback(releases: Sequence[Release], ctx: Context) -> dict[int, GateResult]:
    out = {}
    for release in releases:
        days = ctx.policies[release.pk].rollback_rehearsal_days
        rehearsed = release.rollback_rehearsed_on
        go_live_day = release.go_live.date()
        if not days:
            out[release.pk] = passed("Not required by the gate policy.")
        elif rehearsed is None:
            out[release.pk] = pending(
                f"The rollback is not rehearsed yet (the policy asks within {days} days of the "
                "go-live)"
            )
        elif rehearsed < go_live_day - timedelta(days=days):
            out[release.pk] = failed(
                f"The rollback was last rehearsed on {rehearsed}, more than {days} days before "
                "the go-live"
            )
        else:
            out[release.pk] = passed(f"Rehearsed on {rehearsed}.")
    return out


# --- Fingerprints: what the answers above depend on, as a few aggregates -------------------------


def _print(queryset, moment: str, **aggregates) -> tuple[tuple, object]:
    values = queryset.aggregate(count=Count("pk"), ids=Sum("pk"), moment=Max(moment), **aggregates)
    return tuple(values.values()), values["moment"]


def prerequisites_print(release_ids) -> tuple[tuple, object]:
    # The prerequisites' own rows: their state moves ``sequence``, every change ``updated_at``.
    return _print(
        ReleaseDependency.objects.filter(release_id__in=release_ids),
        "depends_on__updated_at",
        states=Sum("depends_on__sequence"),
    )


def blockers_print(release_ids) -> tuple[tuple, object]:
    return _print(
        ScopeItem.objects.filter(release_id__in=release_ids),
        "updated_at",
        open=Count("pk", filter=Q(blocker=True, done=False)),
    )


def rollback_print(release_ids) -> tuple[tuple, object]:
    return _print(
        Release.objects.filter(pk__in=release_ids), "updated_at", sequence=Sum("sequence")
    )


def freezes_print(release_ids) -> tuple[tuple, object]:
    return _print(FreezeWindow.objects.all(), "updated_at", sequence=Sum("sequence"))


def register() -> None:
    gates.register_gate(
        "prerequisites", "Prerequisites", prerequisites, order=30, fingerprint=prerequisites_print
    )
    gates.register_gate(
        "blockers", "Blocking scope items", blockers, order=40, fingerprint=blockers_print
    )
    gates.register_gate(
        "rollback", "Rollback rehearsed", rollback, order=50, fingerprint=rollback_print
    )
    gates.register_gate(
        "freeze", "Freeze windows", freezes, deployment=True, order=60, fingerprint=freezes_print
    )
