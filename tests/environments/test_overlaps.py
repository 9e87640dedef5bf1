"""Two holding bookings of one environment never overlap; ``[start, end)`` is half-open."""

from __future__ import annotations

import pytest

from environments import services
from environments.models import Booking
from relcal.errors import Conflict

from .conftest import HOUR


@pytest.fixture
def load_test(book, bob, search):
    """Search holds staging from soon + 2 h to soon + 4 h."""
    return book(2, 4, actor=bob, team=search, purpose="load test")


def test_it_allows_bookings_touching_on_either_side(book, load_test):
    before = book(1, 2)
    after = book(4, 5)
    assert before.end == load_test.start
    assert after.start == load_test.end
    assert Booking.objects.filter(state="confirmed").count() == 3


@pytest.mark.parametrize(
    ("case", "start", "end", "suggested"),
    [
        ("containing", 1, 5, 4),
        ("contained", 2.5, 3.5, 4),
        ("identical", 2, 4, 4),
        ("overlapping its start", 1, 3, 4),
        ("overlapping its end", 3, 5, 4),
    ],
)
def test_it_refuses_an_overlap_naming_the_holder_and_the_next_free_slot(
    book, load_test, soon, case, start, end, suggested
):
    with pytest.raises(Conflict) as refused:
        book(start, end)
    error = refused.value
    assert error.message.startswith("staging is booked by Search for “load test” from "), (
        error.message
    )
    assert "the next free" in error.message
    assert error.details["conflict"] == {
        "id": load_test.pk,
        "environment": "staging",
        "team": "search",
        "purpose": "load test",
        "start": soon + 2 * HOUR,
        "end": soon + 4 * HOUR,
        "booked_by": "bob",
    }
    # The same length as asked for, starting where the calendar is free again.
    assert error.details["suggested"] == {
        "start": soon + suggested * HOUR,
        "end": soon + (suggested + end - start) * HOUR,
    }
    assert Booking.objects.count() == 1, "nothing stored"


def test_the_message_reads_as_one_sentence_with_the_windows(
    alice, bob, payments, search, staging, soon
):
    morning = (soon + 24 * HOUR).replace(hour=9)
    day = morning.strftime("%Y-%m-%d")
    common = {"environment": staging, "purpose": "load test"}
    services.booking_create(
        actor=bob, team=search, start=morning + 5 * HOUR, end=morning + 7 * HOUR, **common
    )
    with pytest.raises(Conflict) as refused:
        services.booking_create(
            actor=alice, team=payments, start=morning + 6 * HOUR, end=morning + 8 * HOUR, **common
        )
    assert refused.value.message == (
        f"staging is booked by Search for “load test” from {day} 14:00 to 16:00 UTC; "
        f"the next free 2 h slot is {day} 16:00 to 18:00 UTC."
    )


def test_the_suggestion_skips_gaps_too_short_and_maintenance(
    book, load_test, bob, search, staging, soon, manager
):
    book(5, 6, actor=bob, team=search, purpose="soak")
    services.maintenance_window_create(
        actor=manager,
        environment=staging,
        start=soon + 6.5 * HOUR,
        end=soon + 8 * HOUR,
        reason="OS upgrade",
    )
    with pytest.raises(Conflict) as refused:
        book(3, 5)
    # [4, 5) is too short, [6, 6.5) too; after the maintenance the calendar is free.
    assert refused.value.details["suggested"] == {"start": soon + 8 * HOUR, "end": soon + 10 * HOUR}


def test_a_released_or_cancelled_booking_no_longer_blocks_its_slot(book, load_test, bob):
    services.booking_cancel(actor=bob, booking=load_test)
    again = book(2, 4)
    assert again.state == "confirmed"


def test_bookings_of_different_environments_do_not_clash(book, load_test, qa):
    other = book(2, 4, environment=qa)
    assert other.environment == qa


def test_extending_into_the_next_booking_is_a_conflict_offering_the_latest_end(
    book, load_test, alice, soon
):
    mine = book(0, 1)
    with pytest.raises(Conflict) as refused:
        services.booking_extend(actor=alice, booking=mine, end=soon + 3 * HOUR)
    assert "this booking can be extended until" in refused.value.message
    assert refused.value.details["suggested"] == {"start": soon, "end": soon + 2 * HOUR}
    mine.refresh_from_db()
    assert mine.end == soon + HOUR, "nothing stored"
    extended = services.booking_extend(actor=alice, booking=mine, end=soon + 2 * HOUR)
    assert extended.end == soon + 2 * HOUR
