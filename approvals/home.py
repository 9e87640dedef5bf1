"""Home sections about approvals and builds (registered in ``ApprovalsConfig.ready`` through
``relcal.home``): sign-offs waiting for the person, and failed checks on the current builds of
their teams' releases."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from releases import gates
from releases import selectors as release_selectors
from releases.gates import Context
from releases.models import Release, Team

from . import selectors
from .models import CheckStatus
from .readiness.gates import current_candidates, latest_checks

SHOWN = 10


def pending_signoffs(request: HttpRequest) -> dict | None:
    pending, more = selectors.pending_page(request.user, size=SHOWN)
    if not pending:
        return None
    items = [
        (
            item,
            reverse("admin:approvals_signoff_sign", args=[item.release.pk])
            + f"?role={item.role.role}",
        )
        for item in pending
    ]
    return {"items": items, "more": more}


def failed_checks(request: HttpRequest) -> dict | None:
    """Failed checks (the latest report of their name) on the current build of the upcoming
    releases of the person's teams."""
    user = request.user
    releases = list(
        release_selectors.visible_releases(user, Release.objects.select_related("team"))
        .filter(team__in=Team.objects.filter(members=user).values("pk"), state__in=gates.UPCOMING)
        .filter(go_live__gte=timezone.now() - timedelta(days=1))
        .order_by("go_live", "id")[:50]
    )
    candidates = current_candidates(releases, Context(now=timezone.now(), policies={}))
    reports = latest_checks([candidate.pk for candidate in candidates.values()])
    failed = [
        (release, candidates[release.pk], report)
        for release in releases
        if release.pk in candidates
        for report in reports.get(candidates[release.pk].pk, {}).values()
        if report.status == CheckStatus.FAILED
    ]
    return {"failed": failed[:SHOWN], "more": len(failed) > SHOWN} if failed else None
