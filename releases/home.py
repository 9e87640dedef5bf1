"""Home sections about releases (registered in ``ReleasesConfig.ready`` through
``relcal.home``): the person's releases going live within a week that are not GO, and freeze
windows starting within a week."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from . import gates, selectors
from .models import Team

WEEK = timedelta(days=7)
SHOWN = 10


def blocked_releases(request: HttpRequest) -> dict | None:
    """Releases the person manages or their teams own, going live within 7 days, NO-GO or
    PENDING, soonest first."""
    user, now = request.user, timezone.now()
    mine = Q(manager=user) | Q(team__in=Team.objects.filter(members=user).values("pk"))
    releases = list(
        selectors.visible_releases(user).filter(
            mine, state__in=gates.UPCOMING, go_live__gte=now, go_live__lt=now + WEEK
        )[:50]
    )
    readiness = gates.evaluate(releases, user=user, now=now)
    blocked = [readiness[r.pk] for r in releases if readiness[r.pk].verdict != gates.Verdict.GO]
    return {"blocked": blocked[:SHOWN], "more": len(blocked) > SHOWN} if blocked else None


def freezes_starting(request: HttpRequest) -> dict | None:
    now = timezone.now()
    freezes = list(
        selectors.visible_freeze_windows(request.user)
        .filter(start__gte=now, start__lt=now + WEEK)
        .order_by("start", "id")[:SHOWN]
    )
    return {"freezes": freezes} if freezes else None
