"""Time helpers every app uses: the range of moments Relcal accepts, and how a moment reads in
a message.

Services add an hour for a default window and show times in the viewer's zone; moments near the
ends of what Python can represent would overflow there, so inputs are refused beyond
``EARLIEST``/``LATEST`` with ``OUT_OF_RANGE``, named by the field.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = "Pick a moment between the years 1000 and 9998."


def as_utc(moment: datetime) -> datetime | None:
    """``moment`` in UTC, or None when it is out of range (or not representable in UTC)."""
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        return None
    return moment if EARLIEST <= moment < LATEST else None


def in_range(moment: datetime | date) -> bool:
    if isinstance(moment, datetime):
        return as_utc(moment) is not None
    return EARLIEST.date() <= moment < LATEST.date()


def fmt(moment: datetime | date) -> str:
    """A moment as messages show it: ``2026-12-01 14:00 CET`` in the active zone (the reader's
    own on pages, the recipient's in e-mails, else ``TIME_ZONE``); a day as ISO."""
    if isinstance(moment, datetime):
        return date_format(timezone.localtime(moment), "Y-m-d H:i T")
    return moment.isoformat()


def fmt_in_zone(moment: datetime, zone: str) -> str:
    """``moment`` in the named zone, the zone spelt out: ``2026-12-12 00:00 America/Los_Angeles``
    (a team's own zone, shown next to the reader's); "" when ``zone`` is empty, unknown, or the
    active zone already."""
    if not zone or zone not in time_zone_names() or zone == timezone.get_current_timezone_name():
        return ""
    return f"{date_format(timezone.localtime(moment, zoneinfo.ZoneInfo(zone)), 'Y-m-d H:i')} {zone}"


def require_aware(**moments: datetime | None) -> None:
    """Times must carry a zone, and stay in years where adding a window cannot overflow."""
    errors = {}
    for name, value in moments.items():
        if value is None:
            continue
        if timezone.is_naive(value):
            errors[name] = "Give a timezone-aware time (with a UTC offset)."
        elif not 1900 <= value.year <= 9000:
            errors[name] = "Give a time between the years 1900 and 9000."
    if errors:
        raise ValidationError(errors)


def fmt_window(start: datetime, end: datetime, *, to: str = "to") -> str:
    """“2027-03-02 14:00 to 16:00 UTC”, or with both dates when it spans midnight."""
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    if local_start.date() == local_end.date():
        return f"{date_format(local_start, 'Y-m-d H:i')} {to} {date_format(local_end, 'H:i T')}"
    return f"{fmt(start)} {to} {fmt(end)}"


@functools.cache
def time_zone_names() -> frozenset[str]:
    """Every IANA zone name this machine knows (``zoneinfo.available_timezones()``)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    """A model field validator: empty, or an IANA zone name such as ``America/Los_Angeles``."""
    if value and value not in time_zone_names():
        shown = value[:64].encode("ascii", "replace").decode()
        raise ValidationError(
            f"Unknown time zone “{shown}”: give an IANA name, e.g. America/Los_Angeles."
        )


def fmt_minutes(minutes: float) -> str:
    minutes = round(minutes)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{minutes} min"
