"""The "Readiness" and "Sign-offs" panels on the release page (registered in
``ApprovalsConfig.ready`` through ``releases.panels``). Readiness: the verdict, every gate and
the current build with its checks. Sign-offs: per required role, approved / missing / rejected /
stale, and for a stale approval what changed since it was signed (the same diff as the admin
sign-off page).

Constant queries: the release is read again with ``with_approval_data`` (the page's own
prefetch hides dependencies the viewer may not see, and the fingerprint must not depend on the
viewer), whatever the number of scope items, milestones or sign-offs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from releases import gates
from releases.models import Release, ReleaseState

from . import fingerprint as fp
from . import selectors, services
from .models import Role, SignOff
from .readiness import services as readiness_services

BEFORE_FREEZE = (ReleaseState.DRAFT, ReleaseState.PLANNED)
CHECKS_SHOWN = 20  # check reports listed in the panel; the evidence page has them all


@dataclass
class StaleSignOff:
    signoff: SignOff
    changes: list[str]


@dataclass
class RoleRow:
    status: selectors.RoleStatus
    stale: list[StaleSignOff] = field(default_factory=list)
    sign_url: str = ""
    may_not_approve: bool = False  # segregation of duties: the viewer may only reject


def _sign_url(user, release: Release, role: selectors.RoleStatus) -> tuple[str, bool]:
    """The admin sign-off page for ``role`` if ``user`` signs for it now, and whether they may
    only reject there (segregation of duties)."""
    requirement = role.requirement
    if (
        release.state not in selectors.AWAITING
        or not user.is_staff
        or requirement.group_id not in selectors.signing_group_ids(user)
    ):
        return "", False
    url = reverse("admin:approvals_signoff_sign", args=[release.pk]) + f"?role={role.role}"
    conflicted = requirement.segregation_of_duties and user.pk in selectors.conflicted_ids(release)
    return url, conflicted


def _before_freeze(release: Release) -> dict[str, Any]:
    policy = services.policy_for(release.team)
    roles = (
        [Role(r).label for r in policy.requirements.values_list("role", flat=True)]
        if policy
        else []
    )
    return {"before_freeze": True, "policy": policy, "policy_roles": roles}


def signoff_panel_context(request: HttpRequest, release: Release) -> dict[str, Any]:
    user = request.user
    context: dict[str, Any] = {
        "evidence_url": (
            reverse("approvals:evidence", args=[release.pk])
            if selectors.can_see_evidence(user)
            else ""
        )
    }
    if release.state in BEFORE_FREEZE:
        return {**context, **_before_freeze(release)}
    loaded = selectors.with_approval_data(Release.objects.filter(pk=release.pk)).first()
    if loaded is None:  # deleted meanwhile: the page shows what it loaded, the panel nothing
        return context
    status = selectors.approval_status(loaded)
    rows = []
    for role in status.roles:
        url, conflicted = _sign_url(user, loaded, role)
        stale = [StaleSignOff(s, fp.diff(s.snapshot, status.snapshot)) for s in role.stale]
        rows.append(RoleRow(role, stale, url, conflicted))
    return {
        **context,
        "status": status,
        "rows": rows,
        "satisfied": sum(1 for role in status.roles if role.satisfied),
        "awaiting": loaded.state in selectors.AWAITING,
    }


def readiness_panel_context(request: HttpRequest, release: Release) -> dict[str, Any]:
    """The "Readiness" panel: the verdict with every gate and why, the current candidate and its
    check reports, newest first (a fixed number of queries, whatever the history)."""
    candidate = release.candidates.select_related("reported_by").order_by("-id").first()
    reports = list(candidate.checks.order_by("-id")[:CHECKS_SHOWN]) if candidate is not None else []
    return {
        "readiness": gates.readiness(release, user=request.user),
        "candidate": candidate,
        "reports": reports,
        "more_reports": candidate is not None and len(reports) == CHECKS_SHOWN,
        "superseded": release.candidates.count() - 1 if candidate is not None else 0,
        "can_waive": candidate is not None and readiness_services.can_waive(request.user),
    }
