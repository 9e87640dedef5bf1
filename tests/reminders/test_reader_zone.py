"""Reminder e-mails are worded in their recipient's own time zone, and say which zone that is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from reminders import conf, delivery, preferences
from reminders.models import Delivery
from tests.zones import set_zone

pytestmark = pytest.mark.django_db

STARTING = "booking.starting"


def wall_time(moment, zone: str) -> str:
    return timezone.localtime(moment, ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def email_to(address: str):
    [email] = [m for m in mail.outbox if m.to == [address]]
    return email


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/Sao_Paulo"], ids=["berlin", "sao-paulo"]
)
def test_a_reminder_shows_times_in_the_recipients_zone(scan, booking, alice, zone):
    set_zone(alice, zone)
    held = booking(timedelta(minutes=14), timedelta(hours=3))
    scan()
    email = email_to("alice@example.com")
    assert wall_time(held.start, zone) in email.body
    assert f"Times are in {zone}" in email.body
    assert f"Times are in {zone}" in email.alternatives[0][0]


def test_a_recipient_without_a_zone_reads_the_sites(scan, booking, alice, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    held = booking(timedelta(minutes=14), timedelta(hours=3))
    scan()
    email = email_to("alice@example.com")
    assert wall_time(held.start, "Asia/Tokyo") in email.body
    assert "Times are in Asia/Tokyo" in email.body


def test_a_digest_shows_times_in_the_recipients_zone(scan, booking, alice):
    set_zone(alice, "America/Sao_Paulo")
    preferences.set_mode(alice, STARTING, "digest")
    held = booking(timedelta(minutes=14), timedelta(days=2))
    scan()
    later = Delivery.objects.get(recipient=alice).next_attempt_at
    assert delivery.deliver_digest(alice.pk, now=later) == 1
    [digest] = [m for m in mail.outbox if "digest" in m.subject]
    assert wall_time(held.start, "America/Sao_Paulo") in digest.body
    assert "Times are in America/Sao_Paulo" in digest.body


def test_the_digest_hour_stays_in_the_sites_zone_whatever_zone_is_active(settings):
    settings.TIME_ZONE, settings.RELCAL_DIGEST_HOUR = "UTC", 8
    due = datetime(2031, 1, 10, 12, tzinfo=UTC)
    with timezone.override(ZoneInfo("Asia/Tokyo")):  # a Tokyo recipient's digest, or request
        assert conf.digest_time(due) == datetime(2031, 1, 11, 8, tzinfo=UTC)
