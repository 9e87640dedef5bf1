"""Each reminder rule: what falls due when, and for whom."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals import services as approvals
from approvals.models import Decision, Meaning, ReleaseRequirement
from approvals.reminders import signoffs as signoff_reminders
from environments import reminders as env_reminders
from environments.models import BookingState, WaitlistEntry
from releases import reminders as release_reminders
from releases import services
from reminders import delivery, registry
from reminders import scan as scanning
from reminders.models import Delivery, DeliveryState
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


def test_an_all_day_milestone_across_a_daylight_saving_change_is_still_sent(
    milestone, make_release, manager, settings
):
    settings.TIME_ZONE = "Europe/Berlin"  # clocks go forward on Sunday 28 March 2027
    release = make_release(go_live=timezone.make_aware(datetime(2027, 4, 15, 9)))
    freeze = milestone(None, release=release, date=datetime(2027, 3, 29).date())
    due = timezone.make_aware(datetime(2027, 3, 26))  # Friday midnight, 71 hours before
    scanning.collect(due)
    row = Delivery.objects.get(recipient=manager)
    assert row.due == due
    assert delivery.deliver(row.pk, now=due) == DeliveryState.SENT
    assert mail.outbox[0].subject == f"[Relcal] Code freeze for {freeze.release.name} in 3 days"


def test_a_done_milestone_is_not_reminded(milestone, manager):
    freeze = milestone(10 * DAYS, done=True)
    assert found(release_reminders.upcoming_milestones, freeze.at - 3 * DAYS) == []


def test_a_moved_milestone_skips_the_reminder_found_for_its_old_time(scan, milestone, alice):
    freeze = milestone(3 * DAYS - MIN)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scanning, "hand_over", lambda *args: None)  # the workers are slow
        scan()
    services.milestone_update(actor=freeze.release.manager, milestone=freeze, at=freeze.at + DAYS)
    for row in Delivery.objects.all():
        assert delivery.deliver(row.pk) == DeliveryState.SKIPPED
    assert mail.outbox == []


# --- Sign-offs -----------------------------------------------------------------------------------


def approve(release, user, role: str) -> None:
    approvals.signoff_record(
        actor=user,
        release=release,
        role=role,
        decision=Decision.APPROVE,
        meaning=Meaning.APPROVED_FOR_RELEASE,
        password=PASSWORD,
    )


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
    approve(frozen, priya, "product")
    scan()
    assert sorted(m.to[0] for m in mail.outbox) == ["leo@example.com", "sam@example.com"]
    assert "Sign-off needed" in mail.outbox[0].subject


def test_an_approver_whose_approval_went_stale_is_asked_again_once(scan, frozen, manager, priya):
    approve(frozen, priya, "product")
    services.release_transition(actor=manager, release=frozen, to_state="planned", reason="more")
    services.scope_item_create(actor=manager, release=frozen, title="Saved cards")
    services.release_transition(actor=manager, release=frozen, to_state="scope_frozen")
    mail.outbox.clear()
    scan()
    scan()
    [again] = [m for m in mail.outbox if m.subject.startswith("[Relcal] Sign again")]
    assert again.to == ["priya@example.com"]
    assert again.subject == (
        f"[Relcal] Sign again: {frozen.name} changed since your Product approval"
    )
    assert "Scope item added: Saved cards" in again.body
    assert f"/admin/approvals/signoff/sign/{frozen.pk}/" in again.body
    # Signed again, then another change: asked again, once more.
    approve(frozen, priya, "product")
    services.release_transition(actor=manager, release=frozen, to_state="planned", reason="x")
    services.scope_item_create(actor=manager, release=frozen, title="Refunds")
    services.release_transition(actor=manager, release=frozen, to_state="scope_frozen")
    mail.outbox.clear()
    scan()
    assert [m.to for m in mail.outbox if "Sign again" in m.subject] == [["priya@example.com"]]


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
    assert [m.subject for m in mail.outbox] == [
        "[Relcal] Your waitlisted slot on staging is now booked"
    ]


def test_sign_offs_still_missing_near_the_go_no_go_are_escalated(frozen, manager, priya, leo, sam):
    gate = services.milestone_create(
        actor=manager,
        release=frozen,
        kind="go_no_go",
        at=(timezone.now() + 10 * DAYS).replace(second=0, microsecond=0),
    )
    approve(frozen, priya, "product")
    rule = signoff_reminders.escalations
    due = gate.at - DAYS  # RELCAL_SIGNOFF_ESCALATION_HOURS = 24
    assert found(rule, due - MIN) == []
    # The manager, and the groups of the roles still missing (product is done).
    assert found(rule, due) == [
        ("signoff.escalation", name, due) for name in ("leo", "manager", "sam")
    ]


def test_escalation_names_what_is_missing_and_links_to_the_sign_off_page(
    scan, frozen, manager, priya, leo, sam
):
    at = (timezone.now() + DAYS - MIN).replace(second=0, microsecond=0)
    services.milestone_create(actor=manager, release=frozen, kind="go_no_go", at=at)
    scan()  # its escalation fell due a minute or two ago
    escalated = [m for m in mail.outbox if "Sign-offs still missing" in m.subject]
    assert sorted(m.to[0] for m in escalated) == [
        f"{name}@example.com" for name in ("leo", "manager", "priya", "sam")
    ]
    [email] = [m for m in escalated if m.to == ["manager@example.com"]]
    assert email.subject.startswith(f"[Relcal] Sign-offs still missing for {frozen.name}")
    assert "Product: 0 of 1 approvals, missing" in email.body
    assert f"/admin/approvals/signoff/sign/{frozen.pk}/" in email.body


def test_an_all_day_go_no_go_is_escalated_from_the_start_of_its_day(frozen, manager):
    day = (timezone.now() + 10 * DAYS).date()
    services.milestone_create(actor=manager, release=frozen, kind="go_no_go", date=day)
    midnight = timezone.make_aware(datetime.combine(day, time.min))
    assert {due for *_, due in found(signoff_reminders.escalations, midnight - DAYS)} == {
        midnight - DAYS
    }


def test_a_release_with_timed_and_all_day_go_no_go_milestones_is_escalated_by_the_first(
    frozen, manager
):
    first = (timezone.now() + 5 * DAYS).replace(second=0, microsecond=0)
    services.milestone_create(actor=manager, release=frozen, kind="go_no_go", at=first)
    services.milestone_create(
        actor=manager, release=frozen, kind="go_no_go", date=(first + 2 * DAYS).date()
    )
    assert {due for *_, due in found(signoff_reminders.escalations, first - DAYS)} == {first - DAYS}


def test_nothing_is_escalated_once_every_sign_off_is_in(frozen, manager, priya, leo, sam):
    gate = services.milestone_create(
        actor=manager, release=frozen, kind="go_no_go", at=timezone.now() + 10 * DAYS
    )
    for user, role in ((priya, "product"), (leo, "legal"), (sam, "security")):
        approve(frozen, user, role)
    assert found(signoff_reminders.escalations, gate.at - DAYS) == []


# --- Release state and freezes -------------------------------------------------------------------


def test_watchers_hear_of_a_state_change_but_not_whoever_made_it(
    scan, make_release, manager, alice, bob, outsider
):
    release = make_release()
    release.watchers.add(bob, outsider, manager)
    services.release_transition(
        actor=manager, release=release, to_state="planned", reason="Scope agreed"
    )
    scan()
    changed = [m for m in mail.outbox if "is now planned" in m.subject]
    assert sorted(m.to[0] for m in changed) == ["bob@example.com", "outsider@example.com"]
    assert "moved from Draft to Planned, by Manager." in changed[0].body
    assert "Reason: Scope agreed" in changed[0].body
    assert f"/releases/{release.pk}/" in changed[0].body


def test_the_creation_of_a_release_is_not_a_state_change(make_release, bob):
    release = make_release()
    release.watchers.add(bob)
    assert found(release_reminders.state_changes, timezone.now()) == []


def test_a_freeze_is_announced_a_day_ahead_to_the_releases_it_freezes(
    make_release, manager, alice, bob, outsider, search, soon
):
    frozen = make_release()  # Payments, go-live three weeks ahead
    frozen.watchers.add(outsider)
    other = make_release(team=search)
    other.watchers.add(bob)
    start = soon - timedelta(days=7)
    freeze = services.freeze_window_create(
        actor=manager,
        name="Payments peak",
        start=start,
        end=start + 2 * DAYS,
        team=frozen.team,
    )
    rule = release_reminders.freezes_starting
    assert found(rule, start - DAYS - MIN) == []
    # The watchers and the manager of Payments' releases going live after it starts.
    assert found(rule, start - DAYS) == [
        ("freeze.starting", name, start - DAYS) for name in ("manager", "outsider")
    ]
    message = registry.kinds()["freeze.starting"].message(
        freeze, Delivery(due=start - DAYS, kind="freeze.starting")
    )
    assert message.subject.startswith("Freeze starts ") and "Payments peak" in message.subject
    assert message.link == "/releases/freezes/"


def test_a_freeze_set_at_short_notice_is_announced_when_it_is_set(
    scan, make_release, manager, outsider
):
    make_release().watchers.add(outsider)
    start = timezone.now() + timedelta(hours=3)
    services.freeze_window_create(
        actor=manager, name="Incident freeze", start=start, end=start + DAYS
    )
    scan()
    announced = [m for m in mail.outbox if "Incident freeze" in m.subject]
    assert sorted(m.to[0] for m in announced) == ["manager@example.com", "outsider@example.com"]


def test_a_freeze_of_every_team_reaches_every_active_release(
    make_release, manager, bob, outsider, search, soon
):
    make_release().watchers.add(outsider)
    make_release(team=search).watchers.add(bob)
    start = soon - timedelta(days=7)
    services.freeze_window_create(actor=manager, name="Year end", start=start, end=start + DAYS)
    names = {name for _, name, _ in found(release_reminders.freezes_starting, start - DAYS)}
    assert names == {"bob", "manager", "outsider"}


def test_a_failing_rule_does_not_stop_the_other_reminders(scan, milestone, alice, monkeypatch):
    milestone(3 * DAYS - MIN)

    def broken(now, since):
        raise ValueError("bad data")
        yield

    kind = registry.kinds()[signoff_reminders.SIGNOFF_ESCALATION]
    monkeypatch.setitem(registry.KINDS, kind.name, kind.__class__(**{**vars(kind), "rule": broken}))
    scan()
    assert "alice@example.com" in [m.to[0] for m in mail.outbox]


# --- Cost ----------------------------------------------------------------------------------------


def test_a_scan_costs_the_same_queries_for_one_or_many_due_reminders(
    milestone, make_release, booking, manager, bob, django_assert_max_num_queries
):
    made = []

    def due_things(n: int) -> None:
        for _ in range(n):
            release = make_release()
            release.watchers.add(bob)
            milestone(3 * DAYS - MIN, release=release)
            services.release_transition(actor=manager, release=release, to_state="planned")
            # One-minute slots that do not overlap, all starting within 15 minutes.
            made.append(booking((14 - len(made)) * MIN, (15 - len(made)) * MIN))

    due_things(1)
    now = timezone.now()
    with django_assert_max_num_queries(70) as few:  # ten rules, a savepoint each
        scanning.collect(now)
    Delivery.objects.all().delete()
    due_things(9)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert scanning.collect(now) > 20
