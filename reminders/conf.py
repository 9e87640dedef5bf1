"""The reminder settings, with their defaults here so that the settings module only overrides.
The README's configuration table lists them."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


def stale_after() -> timedelta:
    """Reminders due longer ago than this are skipped: after an outage, no wave of old news."""
    return timedelta(seconds=getattr(settings, "RELCAL_REMINDER_STALE_AFTER", 6 * 3600))


def claim_timeout() -> timedelta:
    """A claim older than this belongs to a worker that died; the row is tried again."""
    return timedelta(seconds=getattr(settings, "RELCAL_REMINDER_CLAIM_TIMEOUT", 600))


def requeue_after() -> timedelta:
    """A pending row handed to the broker this long ago and still not taken is handed again."""
    return timedelta(seconds=getattr(settings, "RELCAL_REMINDER_REQUEUE_AFTER", 300))


def max_attempts() -> int:
    return int(getattr(settings, "RELCAL_REMINDER_MAX_ATTEMPTS", 5))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base… after the 1st, 2nd, 3rd failed attempt."""
    base = getattr(settings, "RELCAL_REMINDER_RETRY_BASE", 60)
    return timedelta(seconds=base * 2 ** max(0, attempts - 1))


def digest_time(due: datetime) -> datetime:
    """The first daily digest at or after ``due``: ``RELCAL_DIGEST_HOUR`` o'clock where Relcal
    runs (``TIME_ZONE``), whatever the daylight-saving shift."""
    hour = int(getattr(settings, "RELCAL_DIGEST_HOUR", 8))
    # The site's zone, not the active one: a digest is worded in its recipient's zone, and a
    # scan may run inside someone's request, yet the digest hour stays where Relcal runs.
    zone = timezone.get_default_timezone()
    day = timezone.localtime(due, zone).date()
    slot = timezone.make_aware(datetime.combine(day, time(hour)), zone)
    if slot < due:
        slot = timezone.make_aware(datetime.combine(day + timedelta(days=1), time(hour)), zone)
    return slot


def webhook_timeout() -> float:
    return float(getattr(settings, "RELCAL_WEBHOOK_TIMEOUT", 10))


def webhook_allow_private() -> bool:
    """Webhooks may point at loopback and private addresses (a self-hosted chat) only when
    ``RELCAL_WEBHOOK_ALLOW_PRIVATE`` says so; link-local and metadata addresses never may."""
    return bool(getattr(settings, "RELCAL_WEBHOOK_ALLOW_PRIVATE", False))
