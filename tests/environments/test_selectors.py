"""Availability, the free-slot walk and "my team's bookings": right answers, few queries."""

from __future__ import annotations

import pytest

from environments import selectors, services
from environments.models import Booking

from .conftest import HOUR


def bulk_book(template: Booking, hours: list[tuple[float, float]], soon) -> None:
    """Store many bookings at once, like ``template``, bypassing the service (test setup)."""
    Booking.objects.bulk_create(
        Booking(
            environment=template.environment,
            team=template.team,
            booked_by=template.booked_by,
            purpose="bulk",
            start=soon + start * HOUR,
            end=soon + end * HOUR,
        )
        for start, end in hours
    )


def test_availability_lists_who_and_why_and_the_free_gaps(book, bob, search, staging, soon):
    first = book(1, 2, purpose="smoke")
    second = book(3, 5, actor=bob, team=search, purpose="load test")
    window = services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 6 * HOUR, end=soon + 7 * HOUR, reason="patch"
    )
    book(9, 10, purpose="outside the range")
    seen = selectors.availability(staging, soon, soon + 8 * HOUR)
    assert [(b.kind, b.who, b.why) for b in seen.busy] == [
        ("booking", "Payments", "smoke"),
        ("booking", "Search", "load test"),
        ("maintenance", "Maintenance", "patch"),
    ]
    assert seen.busy[0].booking == first and seen.busy[1].booking == second
    assert seen.busy[2].maintenance == window
    assert seen.free == [
        (soon, soon + HOUR),
        (soon + 2 * HOUR, soon + 3 * HOUR),
        (soon + 5 * HOUR, soon + 6 * HOUR),
        (soon + 7 * HOUR, soon + 8 * HOUR),
    ]


def test_availability_includes_a_booking_that_began_before_the_range(book, staging, soon):
    book(0, 1)
    running = book(1, 4)
    seen = selectors.availability(staging, soon + 2 * HOUR, soon + 6 * HOUR)
    assert [b.booking for b in seen.busy] == [running]
    assert seen.free == [(soon + 4 * HOUR, soon + 6 * HOUR)]


def test_availability_ignores_cancelled_bookings(book, alice, staging, soon):
    services.booking_cancel(actor=alice, booking=book(0, 1))
    seen = selectors.availability(staging, soon, soon + HOUR)
    assert seen.busy == [] and seen.free == [(soon, soon + HOUR)]


@pytest.mark.parametrize("count", [5, 200])
def test_availability_runs_two_queries_however_busy(
    book, staging, soon, django_assert_num_queries, count
):
    bulk_book(book(0, 1), [(i, i + 0.5) for i in range(1, count)], soon)
    with django_assert_num_queries(2):
        seen = selectors.availability(staging, soon, soon + (count + 2) * HOUR)
        whos = [(b.who, b.booking.booked_by.username) for b in seen.busy]
    assert len(whos) == count


def test_the_free_slot_walk_reads_past_a_long_busy_stretch(book, staging, soon):
    # More back-to-back bookings than one batch of the walk reads, then a gap.
    bulk_book(book(0, 1), [(i, i + 1) for i in range(1, 130)], soon)
    assert selectors.next_free_slot(staging, soon, 2 * HOUR) == soon + 130 * HOUR
    assert selectors.next_free_slot(staging, soon + 500 * HOUR, HOUR) == soon + 500 * HOUR


def test_the_free_slot_walk_finds_a_gap_between_bookings_that_fits(book, staging, soon):
    bulk_book(book(0, 1), [(1.5, 3), (3.5, 5), (7, 8)], soon)
    assert selectors.next_free_slot(staging, soon, HOUR / 2) == soon + HOUR
    assert selectors.next_free_slot(staging, soon, HOUR) == soon + 5 * HOUR
    assert selectors.next_free_slot(staging, soon, 3 * HOUR) == soon + 8 * HOUR


@pytest.mark.parametrize("count", [5, 200])
def test_my_teams_bookings_run_one_query(book, alice, soon, django_assert_num_queries, count):
    bulk_book(book(0, 1), [(i, i + 1) for i in range(1, count)], soon)
    with django_assert_num_queries(1):
        rows = [
            (b.start, b.environment.name, b.team.name, b.booked_by.username, b.release)
            for b in selectors.bookings_for_team(alice)
        ]
    assert len(rows) == count
    assert rows[0][0] == soon, "in start order"
    assert selectors.bookings_for_team(alice.teams.get()).count() == count
