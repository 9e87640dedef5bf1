"""The go/no-go board: the releases going live in the next days as rows, the readiness gates as
columns, each cell passed / failed / pending / waived in words and colour, and the verdict.
Projected in the go/no-go meeting, read on a phone."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import gates, selectors

RANGES = (7, 14, 30, 60)  # days ahead the board may show
DEFAULT_RANGE = 14
MOST = 200  # rows on one board; the rest is said, not rendered


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    days = request.GET.get("days", "")
    days = int(days) if days.isdigit() and int(days) in RANGES else DEFAULT_RANGE
    teams = list(selectors.visible_teams(request.user).order_by("name"))
    team = next((t for t in teams if t.slug == request.GET.get("team")), None)
    now = timezone.now()
    releases = selectors.visible_releases(request.user).filter(
        state__in=gates.UPCOMING,
        go_live__lt=now + timedelta(days=days),
        go_live__gte=now - timedelta(hours=12),
    )
    if team is not None:
        releases = releases.filter(team=team)
    shown = list(releases[: MOST + 1])
    more = len(shown) > MOST
    shown = shown[:MOST]
    readiness = gates.evaluate(shown, user=request.user, now=now)
    rows = [readiness[release.pk] for release in shown]
    verdicts = [row.verdict for row in rows]
    return render(
        request,
        "releases/readiness_board.html",
        {
            "rows": rows,
            "columns": gates.gates(),
            "days": days,
            "ranges": RANGES,
            "teams": teams,
            "team": team,
            "more": more,
            "most": MOST,
            "go": verdicts.count(gates.Verdict.GO),
            "no_go": verdicts.count(gates.Verdict.NO_GO),
            "pending": verdicts.count(gates.Verdict.PENDING),
            "current": "readiness",
        },
    )
