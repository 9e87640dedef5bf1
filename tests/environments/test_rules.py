"""Bad input and each booking rule: a ValidationError naming the field, and nothing stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from environments import services
from environments.models import Booking
from relcal.errors import Conflict

from .conftest import HOUR, set_rules

BERLIN = ZoneInfo("Europe/Berlin")


def refused(call, field: str) -> str:
    """Run ``call``, expect a ValidationError on ``field``, return its message."""
    count = Booking.objects.count()
    with pytest.raises(ValidationError) as error:
        call()
    assert field in error.value.message_dict, error.value.message_dict
    assert Booking.objects.count() == count, "nothing stored"
    return " ".join(error.value.message_dict[field])


def test_it_refuses_an_end_before_the_start(book):
    assert "must end after it starts" in refused(lambda: book(2, 1), "end")


def test_it_refuses_a_zero_length_booking(book):
    assert "must end after it starts" in refused(lambda: book(1, 1), "end")


def test_it_refuses_naive_datetimes(alice, payments, staging, soon):
    naive = timezone.make_naive(soon)
    for field, times in {
        "start": (naive, soon + HOUR),
        "end": (soon, naive + HOUR),
    }.items():
        call = lambda times=times: services.booking_create(  # noqa: E731
            actor=alice,
            environment=staging,
            team=payments,
            start=times[0],
            end=times[1],
            purpose="QA",
        )
        assert "timezone-aware" in refused(call, field)


def test_it_refuses_a_start_in_the_past(alice, payments, staging):
    now = timezone.now()
    call = lambda: services.booking_create(  # noqa: E731
        actor=alice,
        environment=staging,
        team=payments,
        start=now - 2 * HOUR,
        end=now + HOUR,
        purpose="QA",
    )
    assert "is in the past" in refused(call, "start")


def test_it_allows_a_start_a_few_seconds_ago_for_clock_skew_and_makes_it_active(
    alice, payments, staging
):
    now = timezone.now()
    booking = services.booking_create(
        actor=alice,
        environment=staging,
        team=payments,
        start=now - timedelta(seconds=20),
        end=now + HOUR,
        purpose="smoke tests",
    )
    assert booking.state == "active"


def test_a_future_booking_is_confirmed(book):
    assert book(0, 1).state == "confirmed"


def test_it_refuses_a_booking_longer_than_the_environment_allows(book, staging):
    set_rules(staging, max_booking_minutes=120)
    message = refused(lambda: book(0, 3), "end")
    assert message == "staging can be booked for at most 2 h at a time; this booking lasts 3 h."
    assert book(0, 2).end - book(2, 4).start == timedelta(0)


def test_it_refuses_less_notice_than_the_environment_needs(alice, payments, staging):
    set_rules(staging, min_notice_minutes=90)
    now = timezone.now()

    def at(minutes):
        return services.booking_create(
            actor=alice,
            environment=staging,
            team=payments,
            start=now + timedelta(minutes=minutes),
            end=now + timedelta(minutes=minutes + 30),
            purpose="QA",
        )

    assert "must be booked 1 h 30 min ahead" in refused(lambda: at(30), "start")
    assert at(120).state == "confirmed"


def test_it_refuses_a_booking_inside_maintenance_naming_the_window(book, staging, bob, soon):
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon, end=soon + 2 * HOUR, reason="OS upgrade"
    )
    message = refused(lambda: book(1, 3), "start")
    assert "staging is down for maintenance from " in message
    assert "(OS upgrade)" in message
    assert book(2, 3).start == soon + 2 * HOUR, "touching the window is fine"


def test_it_refuses_an_environment_that_is_not_bookable(book, staging):
    set_rules(staging, bookable=False)
    assert refused(lambda: book(0, 1), "environment") == "staging is not open for booking."


def test_it_refuses_more_active_bookings_per_team_than_allowed(book, staging, bob, search):
    set_rules(staging, max_active_bookings_per_team=2)
    first = book(0, 1)
    book(1, 2)
    message = refused(lambda: book(2, 3), "team")
    assert "Payments already has 2 current or upcoming bookings of staging" in message
    assert "(2)" in message
    # The limit is per team: Search may still book.
    assert book(2, 3, actor=bob, team=search).team == search
    # Cancelling one makes room again.
    services.booking_cancel(actor=first.booked_by, booking=first)
    assert book(3, 4).state == "confirmed"


def test_it_refuses_an_overlong_or_empty_purpose(book):
    assert "at most 200 characters" in refused(lambda: book(0, 1, purpose="x" * 201), "purpose")
    assert "cannot be blank" in refused(lambda: book(0, 1, purpose=""), "purpose")


def _last_sunday(year: int, month: int) -> int:
    day = datetime(year, month + 1, 1) - timedelta(days=1)
    return (day - timedelta(days=(day.weekday() + 1) % 7)).day


def _next_dst_change(month: int) -> tuple[int, int]:
    """(year, day) of the next last-Sunday-of-``month`` (a DST change in Europe) ahead of us."""
    year = timezone.now().year
    if timezone.now().date() >= datetime(year, month, _last_sunday(year, month) - 1).date():
        year += 1
    return year, _last_sunday(year, month)


def test_a_booking_across_the_spring_dst_change_lasts_its_real_length(
    alice, payments, staging, settings
):
    settings.TIME_ZONE = "Europe/Berlin"
    set_rules(staging, max_booking_minutes=60)
    year, day = _next_dst_change(3)
    # 01:30 CET to 03:30 CEST is two hours on the wall clock but one hour of real time.
    start = datetime(year, 3, day, 1, 30, tzinfo=BERLIN)
    end = datetime(year, 3, day, 3, 30, tzinfo=BERLIN)
    assert start.utcoffset() == timedelta(hours=1) and end.utcoffset() == timedelta(hours=2)
    booking = services.booking_create(
        actor=alice, environment=staging, team=payments, start=start, end=end, purpose="DST"
    )
    booking.refresh_from_db()
    assert booking.end - booking.start == HOUR
    assert booking.start.utcoffset() == timedelta(0), "stored in UTC"
    assert booking.start == datetime(year, 3, day, 0, 30, tzinfo=ZoneInfo("UTC"))
    # Touching on the far side of the change is fine; an hour more overlaps.
    after = services.booking_create(
        actor=alice,
        environment=staging,
        team=payments,
        start=end,
        end=datetime(year, 3, day, 4, 30, tzinfo=BERLIN),
        purpose="DST",
    )
    assert after.start == booking.end


def test_a_booking_across_the_autumn_dst_change_is_measured_in_real_time(alice, payments, staging):
    set_rules(staging, max_booking_minutes=60)
    year, day = _next_dst_change(10)
    # 01:30 CEST to 02:30 CET (the second 02:30) is one hour on the wall clock, two in reality.
    start = datetime(year, 10, day, 1, 30, tzinfo=BERLIN)
    end = datetime(year, 10, day, 2, 30, fold=1, tzinfo=BERLIN)
    assert end - start == HOUR, "Python's same-zone arithmetic is wall-clock time"
    call = lambda: services.booking_create(  # noqa: E731
        actor=alice, environment=staging, team=payments, start=start, end=end, purpose="DST"
    )
    assert "this booking lasts 2 h" in refused(call, "end")


# --- Acquire now (CI) -------------------------------------------------------------------------


def test_a_pipeline_acquires_now_and_a_second_one_is_told_who_holds_it_until_when(
    alice, bob, payments, search, qa
):
    from relcal.errors import Conflict

    held = services.booking_acquire(
        actor=alice, environment=qa, team=payments, minutes=45, purpose="pipeline #812"
    )
    assert held.state == "active"
    assert held.end - held.start == timedelta(minutes=45)
    assert abs(held.start - timezone.now()) < timedelta(seconds=5)
    with pytest.raises(Conflict) as busy:
        services.booking_acquire(
            actor=bob, environment=qa, team=search, minutes=10, purpose="pipeline #9"
        )
    assert busy.value.message.startswith("qa is booked by Payments for “pipeline #812” from ")
    assert timezone.localtime(held.end).strftime("%H:%M") in busy.value.message
    assert busy.value.details["suggested"]["start"] == held.end
    # Released at the end of the run, it is free again for the next pipeline.
    released = services.booking_release(actor=alice, booking=held)
    assert released.state == "released_early"
    assert released.end <= timezone.now()
    assert released.ended_at == released.end
    again = services.booking_acquire(
        actor=bob, environment=qa, team=search, minutes=10, purpose="pipeline #9"
    )
    assert again.start >= released.end


@pytest.mark.parametrize("minutes", [0, -5, "45", 4.5, True, 10**9])
def test_acquire_refuses_a_bad_number_of_minutes(alice, payments, qa, minutes):
    call = lambda: services.booking_acquire(  # noqa: E731
        actor=alice, environment=qa, team=payments, minutes=minutes, purpose="CI"
    )
    refused(call, "minutes")


def test_acquire_obeys_the_rules_reporting_them_under_minutes(alice, payments, qa, bob):
    set_rules(qa, max_booking_minutes=30)
    assert "at most 30 min" in refused(
        lambda: services.booking_acquire(
            actor=alice, environment=qa, team=payments, minutes=45, purpose="CI"
        ),
        "minutes",
    )
    set_rules(qa, min_notice_minutes=60)
    assert "must be booked 1 h ahead" in refused(
        lambda: services.booking_acquire(
            actor=alice, environment=qa, team=payments, minutes=10, purpose="CI"
        ),
        "minutes",
    )


# --- Extend, release, cancel ----------------------------------------------------------------


def mine_team(user):
    return user.teams.get()


def test_it_refuses_to_extend_into_the_past_beyond_the_limit_or_into_maintenance(
    book, alice, bob, staging, soon
):
    started = services.booking_create(
        actor=alice,
        environment=staging,
        team=mine_team(alice),
        start=timezone.now() - timedelta(seconds=30),
        end=timezone.now() + HOUR,
        purpose="running",
    )
    assert "has passed" in refused(
        lambda: services.booking_extend(
            actor=alice, booking=started, end=timezone.now() - timedelta(seconds=10)
        ),
        "end",
    )
    mine = book(0, 1)
    set_rules(staging, max_booking_minutes=90)
    assert "at most 1 h 30 min" in refused(
        lambda: services.booking_extend(actor=alice, booking=mine, end=soon + 2 * HOUR), "end"
    )
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + HOUR, end=soon + 2 * HOUR, reason="patching"
    )
    assert "patching" in refused(
        lambda: services.booking_extend(actor=alice, booking=mine, end=soon + 1.5 * HOUR), "end"
    )
    naive = timezone.make_naive(soon + 2 * HOUR)
    refused(lambda: services.booking_extend(actor=alice, booking=mine, end=naive), "end")
    mine.refresh_from_db()
    assert mine.end == soon + HOUR


def test_releasing_a_booking_that_has_not_started_cancels_it(book, alice):
    booking = services.booking_release(actor=alice, booking=book(0, 1))
    assert booking.state == "cancelled"
    assert booking.ended_at is not None


@pytest.mark.parametrize("change", ["cancel", "release", "extend"])
def test_a_finished_booking_cannot_be_changed_again(book, alice, soon, change):
    booking = services.booking_cancel(actor=alice, booking=book(0, 1))
    calls = {
        "cancel": lambda: services.booking_cancel(actor=alice, booking=booking),
        "release": lambda: services.booking_release(actor=alice, booking=booking),
        "extend": lambda: services.booking_extend(
            actor=alice, booking=booking, end=soon + 2 * HOUR
        ),
    }
    with pytest.raises(Conflict, match="only confirmed or active bookings can change") as error:
        calls[change]()
    assert error.value.details["state"] == "cancelled"


def test_releasing_a_booking_whose_end_has_passed_marks_it_expired(book, alice):
    booking = book(0, 1)
    now = timezone.now()
    # As if it had ended a minute ago and the expiry task had not run yet.
    Booking.objects.filter(pk=booking.pk).update(start=now - 2 * HOUR, end=now - HOUR / 60)
    released = services.booking_release(actor=alice, booking=booking)
    assert released.state == "expired"
    assert released.ended_at == released.end == Booking.objects.get(pk=booking.pk).end
