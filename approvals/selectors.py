"""Reads: where a release stands with its sign-offs, who may sign what, who sees evidence.

Everything here works on prefetched data (``awaiting_releases`` and ``with_approval_data``), so
that a list of releases costs the same few queries whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from releases import permissions as release_perms
from releases.models import Release, ReleaseState
from releases.selectors import sees_every_team

from . import fingerprint as fp
from .models import ApprovalRequirement, Decision, ReleaseRequirement, Role, SignOff

AWAITING = (ReleaseState.SCOPE_FROZEN, ReleaseState.TESTING)


# --- Who -------------------------------------------------------------------------------------


def can_see_evidence(user) -> bool:
    """Auditors, superusers and release managers: the permission ``approvals.view_evidence``,
    which the migration grants to the Auditors and Release managers groups. (Django caches a
    user's permissions per request, so asking costs no query after the first.)"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.has_perm("approvals.view_evidence")


def signing_group_ids(user) -> set[int]:
    """The user's groups that sign for some role, now (policies) or for a release already
    frozen (its requirements); cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_relcal_signing_groups", None)
    if cached is None:
        signing = Q(pk__in=ApprovalRequirement.objects.values("group_id")) | Q(
            pk__in=ReleaseRequirement.objects.values("group_id")
        )
        cached = set(user.groups.filter(signing).values_list("pk", flat=True))
        user._relcal_signing_groups = cached
    return cached


def awaits_signoff_from(user, release: Release) -> bool:
    """Whether ``release`` is taking sign-offs now and needs one from a group of ``user``'s
    (reads the prefetched ``approval_requirements``)."""
    if release.state not in AWAITING:
        return False
    groups = signing_group_ids(user)
    return any(r.group_id in groups for r in release.approval_requirements.all())


def may_see_release(user, release: Release) -> bool:
    """Whether ``user`` may see ``release`` from the approvals side.

    The releases' rule (``releases.selectors.visible_release_q``) plus one exception: an
    approver sees a private team's release while it awaits their role's sign-off. Once it has
    moved on (or before it freezes) they see only the sign-offs they gave, never the release.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    if (
        sees_every_team(user)
        or not release.team.is_private
        or release.manager_id == user.pk
        or release_perms.is_team_member(user, release.team)
    ):
        return True
    return awaits_signoff_from(user, release)


# --- Where a release stands -------------------------------------------------------------------


@dataclass
class RoleStatus:
    requirement: ReleaseRequirement
    counted: list[SignOff] = field(default_factory=list)  # fresh approvals that count
    rejecting: list[SignOff] = field(default_factory=list)  # latest decision: reject
    stale: list[SignOff] = field(default_factory=list)  # approvals of an earlier version
    conflicted: list[SignOff] = field(default_factory=list)  # approvals SoD rules out now

    @property
    def role(self) -> str:
        return self.requirement.role

    @property
    def label(self) -> str:
        return Role(self.requirement.role).label

    @property
    def missing(self) -> int:
        return max(0, self.requirement.count - len(self.counted))

    @property
    def satisfied(self) -> bool:
        return not self.rejecting and self.missing == 0

    @property
    def state(self) -> str:
        if self.rejecting:
            return "rejected"
        if self.satisfied:
            return "approved"
        return "stale" if self.stale else "missing"

    def problems(self) -> list[str]:
        out = []
        for signoff in self.rejecting:
            out.append(f"{self.label}: rejected by {signoff.signer_name} (“{signoff.comment}”)")
        if self.missing and not self.rejecting:  # a reject is the blocker to name
            have = len(self.counted)
            text = f"{self.label}: {have} of {self.requirement.count} approvals"
            if self.stale:
                names = ", ".join(s.signer_name for s in self.stale)
                text += f"; stale: {names} signed an earlier version"
            else:
                text += ", missing"
            out.append(text)
        return out


@dataclass
class ApprovalStatus:
    release: Release
    snapshot: dict[str, Any]
    fingerprint: str
    roles: list[RoleStatus]
    signoffs: list[SignOff]  # all, oldest first, each with ``.stale`` and ``.superseded``

    @property
    def complete(self) -> bool:
        return all(role.satisfied for role in self.roles)

    def problems(self) -> list[str]:
        return [problem for role in self.roles for problem in role.problems()]

    def role(self, role: str) -> RoleStatus | None:
        return next((r for r in self.roles if r.role == role), None)


def with_approval_data(queryset: QuerySet[Release]) -> QuerySet[Release]:
    """Releases with what ``approval_status`` reads: a fixed number of queries for any number."""
    return (
        fp.with_snapshot_data(queryset)
        .select_related("manager")
        .prefetch_related(
            "approval_requirements",
            Prefetch("signoffs", queryset=SignOff.objects.order_by("signed_at", "id")),
        )
    )


def conflicted_ids(release: Release) -> set[int]:
    """Who may not approve ``release`` where segregation of duties applies."""
    ids = {item.owner_id for item in release.scope_items.all() if item.owner_id}
    if release.manager_id:
        ids.add(release.manager_id)
    return ids


def latest_decisions(signoffs: list[SignOff]) -> dict[tuple[str, int], SignOff]:
    """(role, signer) → that signer's newest decision for the role."""
    latest: dict[tuple[str, int], SignOff] = {}
    for signoff in sorted(signoffs, key=lambda s: (s.signed_at, s.pk)):
        latest[(signoff.role, signoff.signer_id)] = signoff
    return latest


def approval_status(release: Release) -> ApprovalStatus:
    """Where ``release`` stands: per required role, what counts, what blocks, what is stale."""
    snapshot, current = fp.current(release)
    signoffs = list(release.signoffs.all())
    latest = latest_decisions(signoffs)
    newest = set(map(id, latest.values()))
    # A sign-off given on an older snapshot format is compared with what that format covered
    # (``fingerprint.in_format``): a new format alone asks nobody again.
    prints = {fp.SNAPSHOT_FORMAT: current}
    for signoff in signoffs:
        version = fp.snapshot_format(signoff.snapshot)
        if version not in prints:
            prints[version] = fp.fingerprint(fp.in_format(snapshot, version))
        signoff.stale = signoff.fingerprint != prints[version]
        signoff.superseded = id(signoff) not in newest
    conflicted = conflicted_ids(release)
    statuses = []
    for requirement in sorted(release.approval_requirements.all(), key=lambda r: r.pk):
        status = RoleStatus(requirement)
        for (role, signer_id), signoff in latest.items():
            if role != requirement.role:
                continue
            if signoff.decision == Decision.REJECT:
                status.rejecting.append(signoff)  # blocks until the same signer decides anew
            elif signoff.stale:
                status.stale.append(signoff)
            elif requirement.segregation_of_duties and signer_id in conflicted:
                status.conflicted.append(signoff)
            else:
                status.counted.append(signoff)
        statuses.append(status)
    return ApprovalStatus(release, snapshot, current, statuses, signoffs)


def dependency_names(user, release: Release) -> dict[int, str]:
    """Release id → name of each release ``release`` depends on that ``user`` may read by name
    (a public team's, or any when they see every team), to name a snapshot's dependencies as
    the release page does. The others keep the snapshot's team and version, which is what is
    signed, never a name the reader may not see. No query: ``with_snapshot_data`` prefetched
    the dependencies and their teams."""
    every = sees_every_team(user)
    return {
        dep.depends_on_id: dep.depends_on.name
        for dep in release.dependencies.all()
        if every or not dep.depends_on.team.is_private
    }


# --- What waits for whom ------------------------------------------------------------------------


def awaiting_releases() -> QuerySet[Release]:
    return with_approval_data(Release.objects.filter(state__in=AWAITING)).order_by("go_live", "id")


@dataclass
class PendingSignOff:
    release: Release
    status: ApprovalStatus
    role: RoleStatus
    mine: SignOff | None  # the user's newest decision for this role, if any

    @property
    def asked_again(self) -> bool:
        return self.mine is not None and self.mine.stale


def pending_for(user, releases: QuerySet[Release] | None = None) -> list[PendingSignOff]:
    """Release × role pairs waiting for ``user``: roles of their groups, not yet satisfied, with
    no fresh decision of theirs, and not ruled out for them by segregation of duties."""
    groups = signing_group_ids(user)
    if not groups:
        return []
    releases = awaiting_releases() if releases is None else releases
    pending = []
    for release in releases:
        pending.extend(_pending_in(user, groups, release))
    return pending


# Releases read per query batch while filling one page of pending sign-offs.
PENDING_BATCH = 100


def pending_page(user, *, page: int = 1, size: int = 50) -> tuple[list[PendingSignOff], bool]:
    """One page of ``pending_for``'s answer (1-based), and whether a later page exists.

    Only releases with a requirement for one of ``user``'s groups are read, in batches, and
    reading stops once the page is full: the first page costs the same whether 10 or 10,000
    releases await sign-off (a later page reads the releases before it; nothing reads them all).
    """
    groups = signing_group_ids(user)
    if not groups:
        return [], False
    releases = awaiting_releases().filter(
        pk__in=ReleaseRequirement.objects.filter(group_id__in=groups).values("release_id")
    )
    wanted = page * size + 1  # one past the page says whether there is a next one
    found: list[PendingSignOff] = []
    offset = 0
    while len(found) < wanted:
        batch = list(releases[offset : offset + PENDING_BATCH])
        for release in batch:
            found.extend(_pending_in(user, groups, release))
        if len(batch) < PENDING_BATCH:
            break
        offset += PENDING_BATCH
    return found[(page - 1) * size : page * size], len(found) > page * size


def _pending_in(user, groups: set[int], release: Release) -> list[PendingSignOff]:
    """``pending_for``'s answer for one release (prefetched by ``with_approval_data``)."""
    requirements = [r for r in release.approval_requirements.all() if r.group_id in groups]
    if not requirements:
        return []
    pending: list[PendingSignOff] = []
    status = approval_status(release)
    latest = latest_decisions(status.signoffs)
    for requirement in requirements:
        role = status.role(requirement.role)
        mine = latest.get((requirement.role, user.pk))
        if mine is not None and not mine.stale:
            continue  # decided on this version already
        if requirement.segregation_of_duties and user.pk in conflicted_ids(release):
            continue
        if role.satisfied and mine is None:
            continue  # others have approved enough
        pending.append(PendingSignOff(release, status, role, mine))
    return pending
