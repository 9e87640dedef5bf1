"""The waitlist: join only a taken slot; when time frees up, the first in line gets it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from environments import services
from environments.models import Booking, WaitlistEntry
from relcal.errors import Conflict
from releases.models import Team

from .conftest import HOUR, set_rules


@pytest.fixture
def carol(db):
    """A Mobile engineer: a third team in the queue."""
    mobile = Team.objects.create(name="Mobile", slug="mobile")
    user = User.objects.create_user("carol")
    mobile.members.add(user)
    return user


@pytest.fixture
def load_test(book, bob, search):
    return book(2, 4, actor=bob, team=search, purpose="load test")


@pytest.fixture
def join(staging, soon):
    def make(user, start, end, **fields):
        fields.setdefault("environment", staging)
        fields.setdefault("team", user.teams.get())
        fields.setdefault("purpose", f"{user.username}'s tests")
        return services.waitlist_join(
            actor=user, start=soon + start * HOUR, end=soon + end * HOUR, **fields
        )

    return make


def test_it_refuses_to_queue_for_a_free_slot(join, alice, load_test):
    with pytest.raises(ValidationError) as error:
        join(alice, 4, 5)
    assert "book it instead of joining the waitlist" in error.value.message_dict["start"][0]
    assert not WaitlistEntry.objects.exists()


def test_it_queues_for_a_taken_slot_once(join, alice, load_test):
    entry = join(alice, 3, 5)
    assert (entry.state, entry.requested_by, entry.team.slug) == ("waiting", alice, "payments")
    with pytest.raises(ValidationError) as error:
        join(alice, 3, 5)
    assert error.value.message_dict["start"] == [
        "Payments is already on the waitlist for this slot."
    ]
    assert WaitlistEntry.objects.count() == 1


def test_it_refuses_to_queue_for_a_slot_in_maintenance(join, alice, load_test, bob, staging, soon):
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 4 * HOUR, end=soon + 5 * HOUR, reason="x"
    )
    with pytest.raises(ValidationError) as error:
        join(alice, 3, 5)
    assert "down for maintenance" in error.value.message_dict["start"][0]


def test_a_cancelled_slot_goes_to_the_first_in_line(join, alice, carol, bob, load_test, soon):
    first = join(alice, 2, 4)
    second = join(carol, 2, 4)
    services.booking_cancel(actor=bob, booking=load_test)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == "granted"
    assert first.granted_at is not None
    booking = first.granted_booking
    assert (booking.team.slug, booking.booked_by, booking.purpose) == (
        "payments",
        alice,
        "alice's tests",
    )
    assert (booking.start, booking.end, booking.state) == (
        soon + 2 * HOUR,
        soon + 4 * HOUR,
        "confirmed",
    )
    assert second.state == "waiting", "the slot is taken again, by the first in line"


def test_an_entry_whose_slot_is_still_partly_taken_is_skipped_for_the_next(
    join, alice, carol, bob, search, load_test, book
):
    book(4, 6, actor=bob, team=search, purpose="soak")
    first = join(alice, 2, 6)  # still blocked by the soak test after the cancel
    second = join(carol, 2, 4)
    services.booking_cancel(actor=bob, booking=load_test)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("waiting", "granted")


def test_an_early_release_goes_to_the_waitlist_even_within_the_minimum_notice(
    alice, bob, search, qa
):
    held = services.booking_acquire(
        actor=bob, environment=qa, team=search, minutes=60, purpose="pipeline"
    )
    now = timezone.now()
    entry = services.waitlist_join(
        actor=alice,
        environment=qa,
        team=alice.teams.get(),
        start=now + timedelta(minutes=10),
        end=now + timedelta(minutes=40),
        purpose="hotfix check",
    )
    set_rules(qa, min_notice_minutes=600)
    services.booking_release(actor=bob, booking=held)
    entry.refresh_from_db()
    assert entry.state == "granted"
    assert entry.granted_booking.start == now + timedelta(minutes=10)


def test_an_expired_booking_gives_the_rest_of_the_slot_to_the_waitlist(
    book, join, alice, bob, search, soon
):
    held = book(0, 1, actor=bob, team=search)
    entry = join(alice, 0.5, 2)
    assert services.booking_expire_due(now=soon + HOUR) == 1
    held.refresh_from_db()
    entry.refresh_from_db()
    assert held.state == "expired"
    assert entry.state == "granted"
    granted = entry.granted_booking
    # What is still ahead of the requested slot, active at once since it has begun.
    assert (granted.start, granted.end, granted.state) == (soon + HOUR, soon + 2 * HOUR, "active")


def test_promotion_still_respects_maintenance(join, alice, bob, search, book, staging, soon):
    held = book(2, 3, actor=bob, team=search)
    entry = join(alice, 2, 4)
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 3 * HOUR, end=soon + 4 * HOUR, reason="x"
    )
    services.booking_cancel(actor=bob, booking=held)
    entry.refresh_from_db()
    assert entry.state == "waiting"
    assert not Booking.objects.filter(team__slug="payments").exists()


def test_a_withdrawn_entry_is_not_granted(join, alice, bob, load_test):
    entry = services.waitlist_withdraw(actor=alice, entry=join(alice, 2, 4))
    assert entry.state == "withdrawn"
    services.booking_cancel(actor=bob, booking=load_test)
    entry.refresh_from_db()
    assert entry.state == "withdrawn"
    with pytest.raises(Conflict, match="withdrawn, not waiting"):
        services.waitlist_withdraw(actor=alice, entry=entry)


def test_shortening_a_booking_frees_its_tail_for_the_waitlist(join, alice, bob, load_test, soon):
    entry = join(alice, 3, 4)
    services.booking_extend(actor=bob, booking=load_test, end=soon + 3 * HOUR)
    entry.refresh_from_db()
    assert entry.state == "granted"
