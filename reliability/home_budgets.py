"""The "Error budgets" section of Home (registered in ``ReliabilityConfig.ready`` through
``relcal.home``): the SLOs of the person's teams' services that spent their budget or are at
risk, and the error-budget freezes open now that the person may see. Releases' own "Freezes
starting this week" section lists freezes that have not started yet; an error-budget freeze
starts when it is set, so the two never show the same freeze.

Three queries at most, a bounded number of items.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from releases.models import FreezeOrigin, Team
from releases.selectors import visible_freeze_windows

from . import wording
from .models import SLO, SLOState

SHOWN = 10


def error_budgets(request: HttpRequest) -> dict | None:
    user = request.user
    slos = list(
        SLO.objects.filter(
            service__team__in=Team.objects.filter(members=user).values("pk"),
            state__in=(SLOState.EXHAUSTED, SLOState.AT_RISK),
        )
        .select_related("service")
        .order_by("budget_remaining", "pk")[: SHOWN + 1]
    )
    now = timezone.now()
    freezes = list(
        visible_freeze_windows(user)
        .filter(origin=FreezeOrigin.ERROR_BUDGET, start__lte=now, end__gt=now)
        .order_by("start", "id")[:SHOWN]
    )
    if not slos and not freezes:
        return None
    return {
        "slos": [
            (slo, wording.slo_label(slo), wording.left(slo.budget_remaining))
            for slo in slos[:SHOWN]
        ],
        "more": len(slos) > SHOWN,
        "freezes": freezes,
    }
