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


@pytest.fixture
def targets(book, bob, payments, search, staging, soon):
    """What the refused calls aim at: Alice's booking for Payments, Bob's for Search, Bob's
    waitlist entry and a maintenance window on staging (plus the fixtures the calls need)."""
    return {
        "book": book,
        "payments": payments,
        "staging": staging,
        "soon": soon,
        "mine": book(0, 1),
        "held": book(2, 3, actor=bob, team=search),
        "entry": services.waitlist_join(
            actor=bob, environment=staging, team=search, start=soon, end=soon + HOUR, purpose="x"
        ),
        "window": services.maintenance_window_create(
            actor=bob, environment=staging, start=soon + 5 * HOUR, end=soon + 6 * HOUR, reason="x"
        ),
    }


# Every service call that writes, as ``user``, aimed at ``targets`` (``t``); keyed by the call.
EVERY_CALL = {
    "booking_create": lambda user, t: t["book"](3, 4, actor=user),
    "booking_acquire": lambda user, t: services.booking_acquire(
        actor=user, environment=t["staging"], team=t["payments"], minutes=5, purpose="x"
    ),
    "booking_extend": lambda user, t: services.booking_extend(
        actor=user, booking=t["mine"], end=t["soon"] + 2 * HOUR
    ),
    "booking_release": lambda user, t: services.booking_release(actor=user, booking=t["mine"]),
    "booking_cancel": lambda user, t: services.booking_cancel(actor=user, booking=t["held"]),
    "waitlist_join": lambda user, t: services.waitlist_join(
        actor=user,
        environment=t["staging"],
        team=t["payments"],
        start=t["soon"],
        end=t["soon"] + HOUR,
        purpose="x",
    ),
    "waitlist_withdraw": lambda user, t: services.waitlist_withdraw(actor=user, entry=t["entry"]),
    "maintenance_window_create": lambda user, t: services.maintenance_window_create(
        actor=user,
        environment=t["staging"],
        start=t["soon"] + 7 * HOUR,
        end=t["soon"] + 8 * HOUR,
        reason="x",
    ),
    "maintenance_window_delete": lambda user, t: services.maintenance_window_delete(
        actor=user, window=t["window"]
    ),
    "environment_update": lambda user, t: services.environment_update(
        actor=user, environment=t["staging"], max_booking_minutes=1
    ),
    "environment_create": lambda user, t: services.environment_create(
        actor=user, name="perf", slug="perf", kind="test"
    ),
    "environment_delete": lambda user, t: services.environment_delete(
        actor=user, environment=t["staging"]
    ),
    "deployment_report": lambda user, t: services.deployment_report(
        actor=user, environment=t["staging"], version="1.0"
    ),
}


@pytest.mark.parametrize("persona", ["outsider", "anonymous"])
@pytest.mark.parametrize("call", list(EVERY_CALL))
def test_an_outsider_is_refused_everywhere(call, persona, targets, staging, soon, request):
    user = AnonymousUser() if persona == "anonymous" else request.getfixturevalue(persona)
    denied(lambda: EVERY_CALL[call](user, targets))
    mine, held = targets["mine"], targets["held"]
    mine.refresh_from_db()
    held.refresh_from_db()
    assert (mine.state, held.state, mine.end) == ("confirmed", "confirmed", soon + HOUR)
    staging.refresh_from_db()
    assert staging.max_booking_minutes is None


MY_BOOKING_CHANGES = {
    "booking_cancel": lambda bob, mine, soon: services.booking_cancel(actor=bob, booking=mine),
    "booking_release": lambda bob, mine, soon: services.booking_release(actor=bob, booking=mine),
    "booking_extend": lambda bob, mine, soon: services.booking_extend(
        actor=bob, booking=mine, end=soon + 2 * HOUR
    ),
}


@pytest.mark.parametrize("call", list(MY_BOOKING_CHANGES))
def test_another_team_cannot_touch_my_booking(call, book, bob, qa, soon):
    mine = book(0, 1, environment=qa)  # qa has no owners
    message = denied(lambda: MY_BOOKING_CHANGES[call](bob, mine, soon))
    assert "Only members of Payments, the owners of qa and release managers" in message


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
