"""Sign-off deadlines on the calendar month: each in the month it falls in, read for that month
only (issue 16: the pages' cost grew with every release awaiting sign-off, in any month)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals import calendar as signoffs
from releases import services
from tests.approvals.conftest import walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def month_after_next() -> datetime:
    """Noon on the 10th of the month after next: every day here is in the future."""
    today = timezone.localdate()
    first = (today.replace(day=1) + timedelta(days=62)).replace(day=10)
    return datetime(first.year, first.month, 10, 12, tzinfo=UTC)


@pytest.fixture
def awaiting(make_release, manager, alice):
    """``awaiting(go_live, *go_no_gos)``: a release awaiting sign-off (scope frozen)."""

    def make(go_live: datetime, *go_no_gos: datetime):
        release = make_release(go_live=go_live)
        services.scope_item_create(
            actor=manager, release=release, title="Saved cards", ticket_key="PAY-1", owner=alice
        )
        for at in go_no_gos:
            services.milestone_create(actor=manager, release=release, kind="go_no_go", at=at)
        return walk(release, manager, "planned", "scope_frozen")

    return make


def month(client, user, moment: datetime):
    client.force_login(user)
    response = client.get("/calendar/", {"month": f"{timezone.localtime(moment):%Y-%m}"})
    assert response.status_code == 200
    return response.content.decode()


def deadline_link(release) -> str:
    return f"/releases/{release.pk}/#signoffs"


def test_a_deadline_shows_in_the_month_of_its_go_no_go_only(
    client, manager, awaiting, month_after_next
):
    gate = month_after_next - timedelta(days=3)
    release = awaiting(month_after_next, gate)
    assert deadline_link(release) in month(client, manager, gate)
    assert deadline_link(release) not in month(client, manager, gate - timedelta(days=31))


def test_without_a_go_no_go_the_deadline_shows_in_the_month_of_the_go_live(
    client, manager, awaiting, month_after_next
):
    release = awaiting(month_after_next)
    assert deadline_link(release) in month(client, manager, month_after_next)


def test_a_later_go_no_go_in_the_month_does_not_move_the_deadline_there(
    client, manager, awaiting, month_after_next
):
    earlier = month_after_next - timedelta(days=31)
    release = awaiting(month_after_next + timedelta(days=5), earlier, month_after_next)
    assert deadline_link(release) in month(client, manager, earlier)
    assert deadline_link(release) not in month(client, manager, month_after_next)


def test_deadlines_in_other_months_add_no_query(client, manager, awaiting, month_after_next):
    awaiting(month_after_next, month_after_next - timedelta(hours=2))
    month(client, manager, month_after_next)
    with CaptureQueriesContext(connection) as one:
        month(client, manager, month_after_next)
    later = month_after_next + timedelta(days=62)
    for hours in range(3):
        awaiting(later + timedelta(hours=hours), later - timedelta(hours=hours + 1))
    with CaptureQueriesContext(connection) as more:
        page = month(client, manager, month_after_next)
    assert len(more) == len(one)
    assert page.count("#signoffs") == 1


def test_releases_awaiting_sign_off_in_other_months_are_not_loaded(
    client, manager, awaiting, month_after_next, monkeypatch
):
    shown = awaiting(month_after_next, month_after_next - timedelta(hours=2))
    later = month_after_next + timedelta(days=62)
    for hours in range(3):
        awaiting(later + timedelta(hours=hours), later - timedelta(hours=hours + 1))
    loaded, original = [], signoffs.deadline

    def deadline(release):
        loaded.append(release.pk)
        return original(release)

    monkeypatch.setattr(signoffs, "deadline", deadline)
    month(client, manager, month_after_next)
    assert set(loaded) == {shown.pk}
