"""The shared delivery machinery: exactly once, retries, stale cut-off, dead workers, a broker
that is down, the email itself, the schedule and the admin."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError as DatabaseOperationalError
from django.db.models import QuerySet
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from kombu.exceptions import OperationalError

from relcal import schedules
from releases import services
from reminders import channels, delivery
from reminders import scan as scanning
from reminders.models import Delivery, DeliveryState
from tests.conftest import PASSWORD

DAYS = timedelta(days=1)


def pending_row(milestone, user, due=None) -> Delivery:
    due = due or milestone.at - 3 * DAYS  # its 3-day reminder
    return Delivery.objects.create(
        kind="milestone.upcoming",
        object_type="releases.milestone",
        object_id=milestone.pk,
        recipient=user,
        due=due,
        next_attempt_at=due,
    )


@pytest.fixture
def freeze(milestone):
    """A code freeze three days (less a minute) ahead: its 3-day reminder fell due a minute ago."""
    return milestone(3 * DAYS - timedelta(minutes=1))


def test_it_emails_a_due_reminder_with_a_direct_link(scan, freeze, manager, alice, outsider):
    freeze.release.watchers.add(outsider)
    scan()
    reminders = [m for m in mail.outbox if "Code freeze" in m.subject]
    assert sorted(m.to[0] for m in reminders) == [
        "alice@example.com",
        "manager@example.com",
        "outsider@example.com",
    ]
    email = reminders[0]
    link = f"{settings.SITE_URL}/releases/{freeze.release.pk}/"
    assert email.subject == f"[Relcal] Code freeze for {freeze.release.name} in 3 days"
    assert link in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_repeated_scans_create_no_duplicates(scan, freeze, manager, alice):
    for _ in range(3):
        scan()
    assert len(mail.outbox) == 2
    assert Delivery.objects.count() == 2


def test_a_moments_lock_after_the_send_does_not_send_it_twice(freeze, alice, monkeypatch):
    # SQLite answers "database table is locked" while another connection writes: recording the
    # send is tried again instead of leaving the row to be sent once more after the claim.
    row = pending_row(freeze, alice)
    real_update = QuerySet.update
    locks = [DatabaseOperationalError("database table is locked")] * 2

    def update(self, **fields):
        if fields.get("state") == DeliveryState.SENT and locks:
            raise locks.pop()
        return real_update(self, **fields)

    monkeypatch.setattr(QuerySet, "update", update)
    monkeypatch.setattr(delivery.time, "sleep", lambda seconds: None)
    assert delivery.deliver(row.pk) == DeliveryState.SENT
    row.refresh_from_db()
    assert (row.state, len(mail.outbox)) == (DeliveryState.SENT, 1)


def test_two_workers_racing_on_one_row_send_one_email(freeze, alice, monkeypatch):
    row = pending_row(freeze, alice)
    second_worker = []
    real_send = channels.send_email

    def send_while_another_worker_tries(recipient, message):
        # The second worker picks the same row up while the first is mid-send.
        second_worker.append(delivery.deliver(row.pk))
        real_send(recipient, message)

    monkeypatch.setattr(channels, "send_email", send_while_another_worker_tries)
    assert delivery.deliver(row.pk) == DeliveryState.SENT
    assert second_worker == [""]
    assert delivery.deliver(row.pk) == ""  # and a third, after the fact
    assert len(mail.outbox) == 1


def test_it_skips_a_reminder_too_stale_to_be_useful(freeze, alice, settings):
    settings.RELCAL_REMINDER_STALE_AFTER = 6 * 3600
    freeze.at = timezone.now() + 3 * DAYS - timedelta(hours=7)
    freeze.save()
    row = pending_row(freeze, alice)
    assert delivery.deliver(row.pk) == DeliveryState.SKIPPED
    row.refresh_from_db()
    assert row.state == DeliveryState.SKIPPED and row.sent_at is None
    assert mail.outbox == []


def test_a_late_scan_does_not_create_reminders_past_the_cut_off(scan, milestone, alice):
    milestone(3 * DAYS - timedelta(hours=7))  # its 3-day reminder was due 7 hours ago
    scan()
    assert Delivery.objects.count() == 0
    assert mail.outbox == []


def test_failed_sends_retry_with_backoff_then_show_as_failed(freeze, alice, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    row = pending_row(freeze, alice)
    now = timezone.now()
    waits = []
    for attempt in range(1, 5):
        assert delivery.deliver(row.pk, now=now) == DeliveryState.PENDING
        row.refresh_from_db()
        assert row.attempts == attempt and "smtp down" in row.last_error
        waits.append(row.next_attempt_at - now)
        assert delivery.deliver(row.pk, now=now) == ""  # not before the backoff is over
        now = row.next_attempt_at
    assert waits == [timedelta(seconds=s) for s in (60, 120, 240, 480)]
    assert delivery.deliver(row.pk, now=now) == DeliveryState.FAILED
    row.refresh_from_db()
    assert row.state == DeliveryState.FAILED and row.attempts == 5


def test_a_retry_succeeds_once_the_mail_server_is_back(scan, freeze, alice, manager, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(
            "django.core.mail.EmailMultiAlternatives.send",
            lambda self, *a, **k: (_ for _ in ()).throw(OSError("down")),
        )
        scan()
    assert mail.outbox == []
    scan(now=timezone.now() + timedelta(minutes=2))  # the rows are due again
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 2
    # The eager deliveries ran with the real clock, before the retry time: the next scan
    # after it hands them over and they go out.
    later = timezone.now() + timedelta(minutes=2)
    for row in Delivery.objects.all():
        assert delivery.deliver(row.pk, now=later) == DeliveryState.SENT
    assert len(mail.outbox) == 2


def test_a_row_left_by_a_killed_worker_is_retried_after_the_claim_timeout(scan, milestone, alice):
    row = pending_row(milestone(3 * DAYS - timedelta(minutes=20)), alice)
    now = timezone.now()
    assert delivery.claim(row.pk, now - timedelta(minutes=11))  # then the worker died
    scan(now=now - timedelta(minutes=5))  # the claim is still fresh: nobody touches the row
    row.refresh_from_db()
    assert row.state == DeliveryState.SENDING
    scan()
    row.refresh_from_db()
    assert row.state == DeliveryState.SENT
    assert [m.to[0] for m in mail.outbox].count("alice@example.com") == 1


def test_a_request_succeeds_while_the_broker_is_down_and_the_scan_catches_up(
    client,
    make_release,
    manager,
    priya,
    leo,
    sam,
    monkeypatch,
    django_capture_on_commit_callbacks,
    caplog,
):
    from relcal.celery import app

    app.conf.task_always_eager = False  # really talk to a broker, and find it down

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(app, "send_task", broker_down)
    release = make_release()
    services.release_transition(actor=manager, release=release, to_state="planned")
    client.login(username="manager", password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/releases/{release.pk}/transition/", {"to_state": "scope_frozen", "reason": "go"}
        )
    assert response.status_code == 302
    assert "Could not enqueue relcal.scan_reminders" in caplog.text  # logged, not raised
    with django_capture_on_commit_callbacks(execute=True):
        scanning.scan()  # the broker is still down: rows wait, handed over to nobody
    assert Delivery.objects.filter(state=DeliveryState.PENDING, enqueued_at=None).count() == 3
    assert mail.outbox == []

    monkeypatch.undo()  # the broker is back
    app.conf.task_always_eager = True
    with django_capture_on_commit_callbacks(execute=True):
        scanning.scan()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "leo@example.com",
        "priya@example.com",
        "sam@example.com",
    ]


def test_the_scan_schedule_is_synced_into_celery_beat(db):
    task = PeriodicTask.objects.get(task="relcal.scan_reminders")  # by post_migrate
    assert (task.interval.every, task.interval.period) == (60, IntervalSchedule.SECONDS)
    assert task.enabled
    # An operator's change survives a sync; --reset restores the declared values.
    task.interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    task.enabled = False
    task.save()
    assert schedules.sync() == []
    out = io.StringIO()
    call_command("sync_schedules", "--reset", stdout=out)
    assert "synced Reminders: scan for due reminders" in out.getvalue()
    task.refresh_from_db()
    assert task.enabled and task.interval.every == 60


def test_the_admin_lists_deliveries_read_only_with_filters(admin_client, freeze, alice):
    row = pending_row(freeze, alice)
    Delivery.objects.filter(pk=row.pk).update(state=DeliveryState.FAILED, last_error="boom")
    response = admin_client.get("/admin/relcal/delivery/?state__exact=failed")
    assert response.status_code == 200
    assert "milestone.upcoming" in response.content.decode()
    assert admin_client.get("/admin/relcal/delivery/add/").status_code == 403
    assert admin_client.post(f"/admin/relcal/delivery/{row.pk}/delete/").status_code == 403
