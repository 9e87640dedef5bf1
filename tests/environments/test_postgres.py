"""On PostgreSQL the database itself keeps holding bookings of one environment apart."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from environments import services
from environments.models import Booking
from relcal.errors import Conflict

from .conftest import HOUR

pytestmark = pytest.mark.postgres

OVERLAPS = """
    SELECT count(*) FROM environments_booking a JOIN environments_booking b
      ON a.environment_id = b.environment_id AND a.id < b.id
     AND a.start < b."end" AND b.start < a."end"
     WHERE a.state IN ('confirmed', 'active') AND b.state IN ('confirmed', 'active')
"""


def insert(template: Booking, start, end, **fields) -> Booking:
    """Store a booking directly, bypassing the service and its checks."""
    with transaction.atomic():
        return Booking.objects.create(
            environment=template.environment,
            team=template.team,
            booked_by=template.booked_by,
            purpose="direct",
            start=start,
            end=end,
            **fields,
        )


def test_the_database_refuses_an_overlapping_holding_booking(book, soon, qa):
    held = book(1, 3)
    for start, end in [(0, 2), (2, 4), (1, 3), (0, 4), (1.5, 2.5)]:
        with pytest.raises(IntegrityError, match="booking_no_overlap"):
            insert(held, soon + start * HOUR, soon + end * HOUR)
        with pytest.raises(IntegrityError, match="booking_no_overlap"):
            insert(held, soon + start * HOUR, soon + end * HOUR, state="active")
    # Touching on both sides, history rows and other environments are fine.
    insert(held, soon, soon + HOUR)
    insert(held, soon + 3 * HOUR, soon + 4 * HOUR)
    insert(held, soon + HOUR, soon + 3 * HOUR, state="cancelled")
    insert(held, soon + HOUR, soon + 3 * HOUR, state="expired")
    moved = Booking(environment=qa, team=held.team, purpose="qa", start=held.start, end=held.end)
    moved.save()
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPS)
        assert cursor.fetchone() == (0,)


def test_the_database_refuses_an_empty_or_reversed_booking(book, soon):
    held = book(1, 3)
    for start, end in [(5, 5), (6, 5)]:
        with pytest.raises(IntegrityError, match="booking_ends_after_start"):
            insert(held, soon + start * HOUR, soon + end * HOUR)


def test_the_database_refuses_extending_into_another_booking(book, soon):
    first, second = book(0, 1), book(1, 2)
    with pytest.raises(IntegrityError, match="booking_no_overlap"), transaction.atomic():
        Booking.objects.filter(pk=first.pk).update(end=soon + 1.5 * HOUR)
    assert Booking.objects.get(pk=first.pk).end == second.start


THREADS = 24


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_many_concurrent_bookings_of_one_slot_exactly_one_wins(
    alice, bob, payments, search, staging, soon
):
    barrier = threading.Barrier(THREADS)
    outcomes: list[object] = [None] * THREADS

    def run(index: int) -> None:
        actor, team = (alice, payments) if index % 2 else (bob, search)
        try:
            barrier.wait()
            outcomes[index] = services.booking_create(
                actor=actor,
                environment=staging,
                team=team,
                start=soon + (index % 3) * HOUR / 4,  # overlapping, not all identical
                end=soon + 2 * HOUR,
                purpose=f"run {index}",
            )
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    won = [o for o in outcomes if isinstance(o, Booking)]
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(won) == 1, outcomes
    assert len(lost) == THREADS - 1, [o for o in outcomes if not isinstance(o, Booking | Conflict)]
    winner = won[0]
    named = [c for c in lost if c.details["conflict"]]
    assert all(c.details["conflict"]["id"] == winner.pk for c in named)
    assert Booking.objects.filter(state__in=["confirmed", "active"]).count() == 1
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPS)
        assert cursor.fetchone() == (0,)
