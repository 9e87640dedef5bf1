"""The Home section about environments (registered in ``EnvironmentsConfig.ready`` through
``relcal.home``): the bookings of the person's teams today and tomorrow."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.http import HttpRequest
from django.utils import timezone

from . import selectors

SHOWN = 20


def team_bookings(request: HttpRequest) -> dict | None:
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    end = timezone.make_aware(datetime.combine(today + timedelta(days=2), time.min))
    bookings = list(
        selectors.bookings_for_team(request.user).filter(start__lt=end, end__gt=start)[: SHOWN + 1]
    )
    if not bookings:
        return None
    return {"bookings": bookings[:SHOWN], "more": len(bookings) > SHOWN, "today": today}
