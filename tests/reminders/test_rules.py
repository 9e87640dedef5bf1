"""Each reminder rule: what falls due when, and for whom."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals import reminders as signoff_reminders
from approvals import services as approvals
from approvals.models import Decision, Meaning, ReleaseRequirement
from environments import reminders as env_reminders
from environments.models import BookingState, WaitlistEntry
from relcal import notify
from relcal.models import Delivery, DeliveryState
from releases import reminders as release_reminders
from releases import services
from tests.conftest import PASSWORD

DAYS = timedelta(days=1)
MIN = timedelta(minutes=1)
WINDOW = timedelta(hours=6)


def found(rule, now: datetime) -> list[tuple[str, str, datetime]]:
    return sorted(
        (r.kind, user.username, r.due) for r in rule(now, now - WINDOW) for user in r.recipients
    )


# --- Milestones ----------------------------------------------------------------------------------


def test_milestone_reminders_fall_due_3_days_and_1_day_before(milestone, manager, alice, bob):
    freeze = milestone(10 * DAYS)
    freeze.release.watchers.add(bob)
    at = freeze.at
    rule = release_reminders.upcoming_milestones
    kind = release_reminders.MILESTONE_UPCOMING
    assert found(rule, at - 3 * DAYS) == [
        (kind, name, at - 3 * DAYS) for name in ("alice", "bob", "manager")
    ]
    assert found(rule, at - 3 * DAYS - MIN) == []  # not yet
    assert found(rule, at - 2 * DAYS) == []  # between the two
    assert [due for *_, due in found(rule, at - DAYS + MIN)] == [at - DAYS] * 3


def test_milestone_offsets_come_from_the_setting(milestone, manager, settings):
    settings.RELCAL_MILESTONE_REMINDER_OFFSETS = (7,)
    freeze = milestone(10 * DAYS)
    rule = release_reminders.upcoming_milestones
    assert [due for *_, due in found(rule, freeze.at - 7 * DAYS)] == [freeze.at - 7 * DAYS]
    assert found(rule, freeze.at - 3 * DAYS) == []


def test_an_all_day_milestone_is_reminded_from_the_start_of_its_day(milestone, manager):
    day = (timezone.now() + 10 * DAYS).date()
    milestone(None, date=day)
    midnight = timezone.make_aware(datetime.combine(day, time.min))
    dues = {due for *_, due in found(release_reminders.upcoming_milestones, midnight - 3 * DAYS)}
    assert dues == {midnight - 3 * DAYS}


def test_a_done_milestone_is_not_reminded(milestone, manager):
    freeze = milestone(10 * DAYS, done=True)
    assert found(release_reminders.upcoming_milestones, freeze.at - 3 * DAYS) == []


def test_a_moved_milestone_skips_the_reminder_found_for_its_old_time(scan, milestone, alice):
    freeze = milestone(3 * DAYS - MIN)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(notify, "enqueue", lambda *args: None)  # the workers are slow
        scan()
    services.milestone_update(actor=freeze.release.manager, milestone=freeze, at=freeze.at + DAYS)
    for row in Delivery.objects.all():
        assert notify.deliver(row.pk) == DeliveryState.SKIPPED
    assert mail.outbox == []


# --- Sign-offs -----------------------------------------------------------------------------------


@pytest.fixture
def frozen(make_release, manager, priya, leo, sam):
    release = make_release()
    for state in ("planned", "scope_frozen"):
        services.release_transition(actor=manager, release=release, to_state=state)
    return release


def test_approvers_are_reminded_when_asked_then_daily(frozen, priya, leo, sam, manager):
    asked = ReleaseRequirement.objects.filter(release=frozen).earliest("taken_at").taken_at
    rule = signoff_reminders.pending_signoffs
    assert found(rule, asked + MIN) == [
        ("signoff.pending", name, asked) for name in ("leo", "priya", "sam")
    ]
    assert found(rule, asked + 7 * timedelta(hours=1)) == []  # reminded already today
    assert {due for *_, due in found(rule, asked + DAYS + MIN)} == {asked + DAYS}


def test_an_approver_who_signed_is_not_reminded_again(scan, frozen, priya, leo, sam):
    approvals.signoff_record(
        actor=priya,
        release=frozen,
        role="product",
        decision=Decision.APPROVE,
        meaning=Meaning.APPROVED_FOR_RELEASE,
        password=PASSWORD,
    )
    scan()
    assert sorted(m.to[0] for m in mail.outbox) == ["leo@example.com", "sam@example.com"]
    assert "Sign-off needed" in mail.outbox[0].subject


# --- Bookings ------------------------------------------------------------------------------------


def test_a_booking_is_reminded_15_minutes_before_it_starts(booking, alice):
    slot = booking(timedelta(hours=2), timedelta(hours=3))
    rule = env_reminders.starting_soon
    assert found(rule, slot.start - 16 * MIN) == []
    assert found(rule, slot.start - 15 * MIN) == [
        ("booking.starting", "alice", slot.start - 15 * MIN)
    ]


def test_a_booking_is_reminded_15_minutes_before_it_ends(booking, alice):
    slot = booking(-timedelta(hours=1), timedelta(hours=1), state=BookingState.ACTIVE)
    assert found(env_reminders.ending_soon, slot.end - 10 * MIN) == [
        ("booking.ending", "alice", slot.end - 15 * MIN)
    ]


def test_an_overdue_booking_is_expired_by_the_scan_and_its_booker_told(scan, booking, alice):
    slot = booking(-timedelta(hours=2), -MIN, state=BookingState.ACTIVE)
    scan()
    slot.refresh_from_db()
    assert slot.state == BookingState.EXPIRED
    expired = [m for m in mail.outbox if "staging ran past its end" in m.subject]
    assert [m.to for m in expired] == [["alice@example.com"]]
    assert "http://testserver/environments/bookings/" not in expired[0].body
    assert "/environments/bookings/" in expired[0].body


def test_a_granted_waitlist_slot_is_announced(scan, staging, payments, alice):
    now = timezone.now()
    WaitlistEntry.objects.create(
        environment=staging,
        team=payments,
        start=now + DAYS,
        end=now + DAYS + timedelta(hours=1),
        purpose="Load test",
        requested_by=alice,
        state="granted",
        granted_at=now - MIN,
    )
    scan()
    assert [m.subject for m in mail.outbox] == ["[Relcal] Your waitlisted slot on staging is yours"]
