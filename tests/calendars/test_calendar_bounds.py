"""Issue 16, item 5: the month grid and the agenda cost the same however dense the schedule: a
bound per day and per page, "+N more" opening the day, which pages through it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calendars.pages import AGENDA_DAY_SHOWN, AGENDA_PAGE_SHOWN, DAY_PAGE_SHOWN, MONTH_DAY_SHOWN
from releases.models import Release, Team

pytestmark = pytest.mark.django_db

EVENT = 'class="cal-ev '
AGENDA_EVENT = 'class="agenda-ev '


def busy_day() -> date:
    return timezone.localdate() + timedelta(days=10)


def go_lives(count: int, team: Team, day: date, prefix: str = "Busy") -> None:
    """``count`` releases going live on ``day`` (one go-live event each), in bulk."""
    first = Release.objects.count()
    noon = timezone.make_aware(datetime.combine(day, time(12)))
    Release.objects.bulk_create(
        Release(
            name=f"{prefix} {n}",
            version=f"{prefix.lower()}-{n}",
            team=team,
            go_live=noon + timedelta(minutes=n % 120),
        )
        for n in range(first, first + count)
    )


def month(client, day: date):
    return client.get(reverse("calendar"), {"month": f"{day:%Y-%m}"})


def test_a_busy_day_in_the_month_shows_a_few_and_how_many_more(client, alice, payments):
    go_lives(30, payments, busy_day())
    client.force_login(alice)
    page = month(client, busy_day()).content.decode()
    assert page.count(EVENT) == MONTH_DAY_SHOWN - 1
    assert f"+{30 - MONTH_DAY_SHOWN + 1} more" in page
    assert f'href="/calendar/agenda/?day={busy_day():%Y-%m-%d}"' in page


def test_the_month_runs_the_same_queries_and_size_for_3_and_300_events_a_day(
    client, alice, payments
):
    client.force_login(alice)

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = month(client, busy_day())
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.content)

    go_lives(MONTH_DAY_SHOWN, payments, busy_day())
    few, few_bytes = measure()
    go_lives(300, payments, busy_day())
    many, many_bytes = measure()
    assert few == many
    assert abs(many_bytes - few_bytes) < 500  # one event swapped for "+N more"


def test_the_agenda_bounds_each_day(client, alice, payments):
    go_lives(30, payments, busy_day())
    client.force_login(alice)
    page = client.get(reverse("calendar-agenda")).content.decode()
    assert page.count(AGENDA_EVENT) == AGENDA_DAY_SHOWN - 1
    assert f"+{30 - AGENDA_DAY_SHOWN + 1} more on" in page


def test_the_agenda_ends_its_page_early_and_later_continues(client, alice, payments):
    start = timezone.localdate() + timedelta(days=1)
    days = AGENDA_PAGE_SHOWN // AGENDA_DAY_SHOWN + 3
    for offset in range(days):
        go_lives(AGENDA_DAY_SHOWN, payments, start + timedelta(days=offset))
    client.force_login(alice)
    response = client.get(reverse("calendar-agenda"), {"start": start.isoformat()})
    page = response.content.decode()
    assert page.count(AGENDA_EVENT) <= AGENDA_PAGE_SHOWN
    following = start + timedelta(days=AGENDA_PAGE_SHOWN // AGENDA_DAY_SHOWN)
    assert f"start={following:%Y-%m-%d}" in response.context["next_url"]
    later = client.get(response.context["next_url"]).content.decode()
    assert later.count(AGENDA_EVENT) == 3 * AGENDA_DAY_SHOWN


def test_more_opens_the_whole_day_a_page_at_a_time(client, alice, payments):
    go_lives(DAY_PAGE_SHOWN + 5, payments, busy_day())
    go_lives(2, payments, busy_day() + timedelta(days=1), prefix="Next day")
    client.force_login(alice)
    url = reverse("calendar-agenda")
    first = client.get(url, {"day": busy_day().isoformat()}).content.decode()
    second = client.get(url, {"day": busy_day().isoformat(), "page": 2}).content.decode()
    assert first.count(AGENDA_EVENT) == DAY_PAGE_SHOWN
    assert second.count(AGENDA_EVENT) == 5
    assert "Next day" not in first + second
    assert 'rel="next"' in first


def test_the_day_view_keeps_the_filters(client, alice, payments, search):
    go_lives(3, payments, busy_day(), prefix="Pay")
    go_lives(3, search, busy_day(), prefix="Find")
    client.force_login(alice)
    page = client.get(
        reverse("calendar-agenda"), {"day": busy_day().isoformat(), "team": "search"}
    ).content.decode()
    assert page.count(AGENDA_EVENT) == 3
    assert "Pay " not in page
