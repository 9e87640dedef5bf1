"""Who may book, change bookings, set rules and maintenance, and report deployments."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from environments import services
from environments.models import Booking, Deployment, MaintenanceWindow, WaitlistEntry

from .conftest import HOUR


def denied(call) -> str:
    counts = [m.objects.count() for m in (Booking, MaintenanceWindow, Deployment, WaitlistEntry)]
    with pytest.raises(PermissionDenied) as error:
        call()
    after = [m.objects.count() for m in (Booking, MaintenanceWindow, Deployment, WaitlistEntry)]
    assert after == counts, "nothing stored"
    return str(error.value)


def test_a_team_member_books_for_their_own_team_only(book, payments, search, alice):
    assert book(0, 1).team == payments
    message = denied(lambda: book(1, 2, team=search))
    assert message == "Only members of Search (and release managers) can book for Search."
    denied(
        lambda: services.booking_acquire(
            actor=alice, environment=search.environments.get(), team=search, minutes=5,
            purpose="x",
        )
    )  # fmt: skip


@pytest.mark.parametrize("persona", ["manager", "admin"])
def test_release_managers_and_superusers_book_for_any_team(book, search, persona, request):
    user = request.getfixturevalue(persona)
    assert book(0, 1, actor=user, team=search).booked_by == user


def test_an_outsider_is_refused_everywhere(book, outsider, payments, staging, soon, bob, search):
    mine = book(0, 1)
    held = book(2, 3, actor=bob, team=search)
    entry = services.waitlist_join(
        actor=bob, environment=staging, team=search, start=soon, end=soon + HOUR, purpose="x"
    )
    window = services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 5 * HOUR, end=soon + 6 * HOUR, reason="x"
    )

    def calls(user):
        return [
            lambda: book(3, 4, actor=user),
            lambda: services.booking_acquire(
                actor=user, environment=staging, team=payments, minutes=5, purpose="x"
            ),
            lambda: services.booking_extend(actor=user, booking=mine, end=soon + 2 * HOUR),
            lambda: services.booking_release(actor=user, booking=mine),
            lambda: services.booking_cancel(actor=user, booking=held),
            lambda: services.waitlist_join(
                actor=user, environment=staging, team=payments, start=soon,
                end=soon + HOUR, purpose="x",
            ),
            lambda: services.waitlist_withdraw(actor=user, entry=entry),
            lambda: services.maintenance_window_create(
                actor=user, environment=staging, start=soon + 7 * HOUR,
                end=soon + 8 * HOUR, reason="x",
            ),
            lambda: services.maintenance_window_delete(actor=user, window=window),
            lambda: services.environment_update(
                actor=user, environment=staging, max_booking_minutes=1
            ),
            lambda: services.environment_create(
                actor=user, name="perf", slug="perf", kind="test"
            ),
            lambda: services.environment_delete(actor=user, environment=staging),
            lambda: services.deployment_report(actor=user, environment=staging, version="1.0"),
        ]  # fmt: skip

    for user in (outsider, AnonymousUser()):
        for call in calls(user):
            denied(call)
    mine.refresh_from_db()
    held.refresh_from_db()
    assert (mine.state, held.state, mine.end) == ("confirmed", "confirmed", soon + HOUR)
    staging.refresh_from_db()
    assert staging.max_booking_minutes is None


def test_another_team_cannot_touch_my_booking(book, bob, qa, soon):
    mine = book(0, 1, environment=qa)  # qa has no owners
    for call in (
        lambda: services.booking_cancel(actor=bob, booking=mine),
        lambda: services.booking_release(actor=bob, booking=mine),
        lambda: services.booking_extend(actor=bob, booking=mine, end=soon + 2 * HOUR),
    ):
        assert "Only members of Payments, the owners of qa and release managers" in denied(call)


def test_the_environments_owners_may_cancel_another_teams_booking(book, bob):
    # staging belongs to Search (Bob's team); Alice (Payments) booked it.
    cancelled = services.booking_cancel(actor=bob, booking=book(0, 1))
    assert cancelled.state == "cancelled"


@pytest.mark.parametrize("persona", ["manager", "admin"])
def test_release_managers_may_change_any_booking(book, persona, request, soon):
    user = request.getfixturevalue(persona)
    extended = services.booking_extend(actor=user, booking=book(0, 1), end=soon + 2 * HOUR)
    assert extended.end == soon + 2 * HOUR
    assert services.booking_cancel(actor=user, booking=extended).state == "cancelled"


def test_only_owners_and_managers_set_rules_and_maintenance(alice, bob, manager, staging, soon):
    denied(lambda: services.environment_update(actor=alice, environment=staging, bookable=False))
    denied(
        lambda: services.maintenance_window_create(
            actor=alice, environment=staging, start=soon, end=soon + HOUR, reason="x"
        )
    )
    updated = services.environment_update(actor=bob, environment=staging, min_notice_minutes=30)
    assert updated.min_notice_minutes == 30
    services.maintenance_window_create(
        actor=manager, environment=staging, start=soon, end=soon + HOUR, reason="x"
    )
    # Owners run their environment; what it is and whose it is stays with release managers.
    message = denied(lambda: services.environment_update(actor=bob, environment=staging, name="s"))
    assert "Only release managers can rename" in message
    assert services.environment_update(actor=manager, environment=staging, name="stage").name


def test_any_team_member_reports_deployments(alice, staging):
    deployment = services.deployment_report(actor=alice, environment=staging, version="4.3.0")
    assert deployment.deployed_by == alice
