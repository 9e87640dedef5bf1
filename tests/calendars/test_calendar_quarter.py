"""Issue 16: "the next three months" in one page. The three-month view is the month grid over
three months, with the month view's filters, its bound per day ("+N more" opening the day) and
a fixed number of queries however dense the schedule; month and agenda link to it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calendars.pages import MONTH_DAY_SHOWN
from releases.models import Release, Team

pytestmark = pytest.mark.django_db

EVENT = 'class="cal-ev '
QUARTER = reverse("calendar-quarter")


def go_lives(count: int, team: Team, day: date, prefix: str = "Busy") -> None:
    """``count`` releases going live at noon on ``day`` (one go-live event each), in bulk."""
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


def quarter(client, user, **params):
    client.force_login(user)
    return client.get(QUARTER, params)


def test_the_three_month_view_needs_a_login(client):
    assert client.get(QUARTER).status_code == 302


def test_it_shows_three_months_from_the_month_asked_for(client, alice, payments):
    for month, name in ((3, "March"), (4, "April"), (5, "May"), (6, "June")):
        go_lives(1, payments, date(2030, month, 15), prefix=f"{name} release")
    response = quarter(client, alice, month="2030-03")
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("March", "April", "May"):
        assert f"{name} release" in page
    assert "June release" not in page
    assert "March – May 2030" in page


def test_a_heading_row_marks_where_each_later_month_begins(client, alice):
    page = quarter(client, alice, month="2030-03").content.decode()
    assert '<caption class="cal-quarter__caption">March 2030</caption>' in page
    assert '<th colspan="7" scope="colgroup">April 2030</th>' in page
    assert '<th colspan="7" scope="colgroup">May 2030</th>' in page
    assert "March 2030</th>" not in page  # the caption names it, not a second heading


def test_it_spans_the_turn_of_the_year(client, alice):
    page = quarter(client, alice, month="2030-11").content.decode()
    assert "November 2030 – January 2031" in page


def test_it_starts_at_this_month_and_marks_today(client, alice):
    response = quarter(client, alice)
    assert response.context["month"] == timezone.localdate().replace(day=1)
    assert response.content.decode().count('aria-current="date"') == 1


@pytest.mark.parametrize(
    "link, month", [("previous_url", "2029-12"), ("next_url", "2030-06")], ids=["back", "on"]
)
def test_it_moves_by_three_months_keeping_the_filters(client, alice, payments, link, month):
    response = quarter(client, alice, month="2030-03", team="payments")
    assert response.context[link] == f"{QUARTER}?team=payments&month={month}"


def test_the_filters_narrow_it_as_they_do_the_month(client, alice, payments, search):
    go_lives(1, payments, date(2030, 4, 2), prefix="Pay")
    go_lives(1, search, date(2030, 4, 3), prefix="Find")
    page = quarter(client, alice, month="2030-03", team="search").content.decode()
    assert "Find " in page
    assert "Pay " not in page
    assert 'value="search" checked' in page


def test_bad_filters_are_refused_naming_the_field(client, alice):
    response = quarter(client, alice, month="2030-03", kind="lunch")
    assert response.status_code == 400
    assert "Unknown kind" in response.content.decode()


def test_a_busy_day_shows_a_few_and_how_many_more(client, alice, payments):
    go_lives(30, payments, date(2030, 4, 10))
    page = quarter(client, alice, month="2030-03").content.decode()
    assert page.count(EVENT) == MONTH_DAY_SHOWN - 1
    assert f"+{30 - MONTH_DAY_SHOWN + 1} more" in page
    assert 'href="/calendar/agenda/?day=2030-04-10"' in page


def test_it_runs_the_same_queries_and_size_for_3_and_300_events_a_day(client, alice, payments):
    client.force_login(alice)

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(QUARTER, {"month": "2030-03"})
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.content)

    for month in (3, 4, 5):
        go_lives(MONTH_DAY_SHOWN, payments, date(2030, month, 10))
    few, few_bytes = measure()
    for month in (3, 4, 5):
        go_lives(100, payments, date(2030, month, 10))
    many, many_bytes = measure()
    assert few == many
    assert abs(many_bytes - few_bytes) < 3 * 500  # one event swapped for "+N more" a day


@pytest.mark.parametrize(
    "url, params",
    [("calendar", {"month": "2030-03"}), ("calendar-agenda", {"start": "2030-03-04"})],
    ids=["month", "agenda"],
)
def test_the_month_and_agenda_link_to_it(client, alice, url, params):
    client.force_login(alice)
    page = client.get(reverse(url), {**params, "team": "payments"}).content.decode()
    assert f'href="{QUARTER}?team=payments&amp;month=2030-03">3 months</a>' in page


def test_it_links_back_to_the_month_and_the_agenda(client, alice):
    page = quarter(client, alice, month="2030-03").content.decode()
    assert 'href="/calendar/?month=2030-03">Month</a>' in page
    assert 'href="/calendar/agenda/?start=2030-03-01">Agenda</a>' in page
    assert 'href="#" aria-current="page">3 months</a>' in page
