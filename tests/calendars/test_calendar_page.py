"""The calendar page: month and agenda views over the same filters as the feeds."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calendars.models import FeedToken
from releases import services
from releases.models import Release

from .conftest import SITE

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(manager, make_release, search, soon):
    payments_release = make_release(name="Payments 4.2", version="4.2")
    services.milestone_create(
        actor=manager,
        release=payments_release,
        kind="code_freeze",
        date=(soon - timedelta(days=2)).date(),
    )
    search_release = make_release(team=search, name="Search 2.1", version="2.1")
    services.freeze_window_create(
        actor=manager,
        name="Black Friday",
        start=soon + timedelta(hours=3),
        end=soon + timedelta(days=2),
    )
    return payments_release, search_release


def month_of(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m}"


def test_the_calendar_needs_a_login(client):
    assert client.get(reverse("calendar")).status_code == 302
    assert client.get(reverse("calendar-agenda")).status_code == 302
    assert client.post(reverse("calendar-subscribe")).status_code == 302


def test_the_month_view_shows_the_months_events_coloured_by_team_and_kind(
    client, alice, plan, soon
):
    client.force_login(alice)
    response = client.get(reverse("calendar"), {"month": month_of(soon)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Payments 4.2 — go-live" in page
    assert "Payments 4.2 — code freeze" in page
    assert "Search 2.1 — go-live" in page
    assert "All teams — freeze: Black Friday" in page
    assert "--team-color: #d9480f" in page  # Payments' colour
    assert "cal-ev--go_live" in page and "cal-ev--milestone" in page
    assert "cal-ev--freeze" in page
    assert "is-tentative" in page  # drafts are tentative


def test_the_month_view_marks_today(client, alice):
    client.force_login(alice)
    page = client.get(reverse("calendar")).content.decode()
    assert page.count('aria-current="date"') == 1
    assert "Today" in page
    assert timezone.localdate().strftime("%B %Y") in page


def test_the_filters_narrow_month_and_agenda_alike(client, alice, plan, soon):
    client.force_login(alice)
    for url, params in (
        (reverse("calendar"), {"month": month_of(soon)}),
        (reverse("calendar-agenda"), {"start": (soon - timedelta(days=7)).date().isoformat()}),
    ):
        page = client.get(url, {**params, "team": "payments", "kind": "go_live"}).content.decode()
        assert "Payments 4.2 — go-live" in page
        assert "Search 2.1 — go-live" not in page
        assert "code freeze" not in page
        assert "Black Friday" not in page
        assert 'value="payments" checked' in page


def test_the_agenda_lists_events_by_day_from_the_start(client, alice, plan, soon):
    client.force_login(alice)
    start = (soon - timedelta(days=7)).date()
    response = client.get(reverse("calendar-agenda"), {"start": start.isoformat()})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("Payments 4.2 — code freeze") < page.index("Payments 4.2 — go-live")
    assert "All teams — freeze: Black Friday" in page
    assert "Tentative" in page
    today = client.get(reverse("calendar-agenda")).content.decode()
    assert 'aria-current="date"' in today  # today is marked, even with nothing on it


def test_bad_filters_are_reported_not_crashed_on(client, alice, plan):
    client.force_login(alice)
    response = client.get(reverse("calendar"), {"kind": "lunch", "month": "2026-99"})
    assert response.status_code == 400
    assert "Unknown kind" in response.content.decode()


def test_the_month_view_runs_the_same_queries_for_few_and_many_events(
    client, alice, payments, search, soon
):
    client.force_login(alice)
    month = month_of(soon)
    first = timezone.localtime(soon).replace(day=1, hour=12)

    def add(team, count):
        Release.objects.bulk_create(
            Release(
                team=team,
                name=f"{team.name} x{n}",
                version=f"x{team.pk}.{n}",
                go_live=first + timedelta(hours=n),
            )
            for n in range(count)
        )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("calendar"), {"month": month}).status_code == 200
            assert (
                client.get(reverse("calendar-agenda"), {"start": f"{first:%Y-%m-%d}"}).status_code
                == 200
            )
        return len(captured)

    add(payments, 5)
    few = queries()
    add(search, 50)
    assert queries() == few


def test_the_calendar_shows_local_times_across_a_dst_change(client, settings, manager, payments):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    services.release_create(
        actor=manager,
        team=payments,
        name="Payments 5.0",
        version="5.0",
        go_live=datetime(2027, 3, 28, 3, 30, tzinfo=berlin),  # after the clocks went forward
    )
    client.force_login(manager)
    page = client.get(reverse("calendar"), {"month": "2027-03"}).content.decode()
    assert "03:30" in page and "Payments 5.0 — go-live" in page
    agenda = client.get(reverse("calendar-agenda"), {"start": "2027-03-27"}).content.decode()
    assert "03:30–04:30" in agenda
    assert "Sun 28 Mar 2027" in agenda


def test_subscribe_creates_a_link_for_the_current_filters_and_shows_it_once(
    client, alice, plan, soon
):
    client.force_login(alice)
    back = f"{reverse('calendar')}?month={month_of(soon)}&team=payments&kind=freeze"
    page = client.get(back).content.decode()
    assert "Create subscription link" in page
    response = client.post(
        reverse("calendar-subscribe"),
        {"team": "payments", "kind": ["freeze"], "next": back},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{back}#subscribe"
    token = FeedToken.objects.get(user=alice)
    assert token.filters == {"teams": ["payments"], "kinds": ["freeze"]}
    assert token.name == "Payments · Freeze window"
    page = client.get(back).content.decode()
    assert f'value="{SITE}/feeds/' in page
    assert 'value="webcal://relcal.example.com/feeds/' in page
    assert "Google Calendar" in page and "Outlook" in page and "Apple Calendar" in page
    assert f"{SITE}/feeds/" not in client.get(back).content.decode()


def test_subscribe_refuses_bad_filters_and_foreign_redirects(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("calendar-subscribe"), {"kind": "lunch", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("calendar")
    assert not FeedToken.objects.exists()
