"""calendars.ical on its own: the bytes it writes for awkward text, dates and times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendars import ical

from .conftest import check_raw, parse_strictly

UPDATED = datetime(2026, 3, 1, 12, 30, 45, 987654, tzinfo=UTC)


def render(*events: ical.FeedEvent, name: str = "Relcal · test") -> bytes:
    return ical.render(
        events, name=name, site_url="https://relcal.example.com", refresh=timedelta(hours=1)
    )


def event(**fields) -> ical.FeedEvent:
    fields.setdefault("kind", "go_live")
    fields.setdefault("pk", 1)
    fields.setdefault("summary", "Payments 4.2 — go-live")
    fields.setdefault("start", datetime(2026, 3, 2, 9, tzinfo=UTC))
    fields.setdefault("end", datetime(2026, 3, 2, 10, tzinfo=UTC))
    fields.setdefault("updated", UPDATED)
    return ical.FeedEvent(**fields)


AWKWARD = [
    "Payments 4.2, beta; “quoted” \\ backslash",
    "Line one\nline two\r\nline three",
    "Zahlungen — Größenänderung 🚀 " * 6,  # multi-byte characters across the fold
    "日本語のリリース名" * 10,
    "Ends with a backslash \\",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_it_escapes_and_folds_text_that_three_parsers_read_back_unchanged(text):
    body = render(event(summary=text, description=text), name=text[:60])
    cal = parse_strictly(body)
    (parsed,) = cal.walk("VEVENT")
    expected = text.replace("\r\n", "\n")
    assert str(parsed["SUMMARY"]) == expected
    assert str(parsed["DESCRIPTION"]) == expected


def test_it_writes_the_calendar_properties_of_rfc_5545_and_7986():
    body = render(event(), name="Relcal · Payments").decode()
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{ical.PRODID}",
        "NAME:Relcal · Payments",
        "X-WR-CALNAME:Relcal · Payments",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "METHOD:PUBLISH",
    ]:
        assert f"{line}\r\n" in body
    assert body.endswith("END:VCALENDAR\r\n")


def test_it_writes_timed_events_in_utc_whatever_zone_they_come_in():
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 29, 1, 30, tzinfo=berlin)  # just before the clocks go forward
    end = datetime(2026, 3, 29, 3, 30, tzinfo=berlin)  # just after: one real hour later
    body = render(event(start=start, end=end)).decode()
    assert "DTSTART:20260329T003000Z\r\n" in body
    assert "DTEND:20260329T013000Z\r\n" in body
    assert "TZID" not in body  # so no VTIMEZONE is needed
    parse_strictly(body.encode())


def test_it_writes_all_day_events_as_dates_with_an_exclusive_end():
    body = render(event(start=date(2026, 3, 2), end=date(2026, 3, 3))).decode()
    assert "DTSTART;VALUE=DATE:20260302\r\n" in body
    assert "DTEND;VALUE=DATE:20260303\r\n" in body
    (parsed,) = parse_strictly(body.encode()).walk("VEVENT")
    assert parsed.start == date(2026, 3, 2)
    assert parsed.end == date(2026, 3, 3)


def test_it_stamps_events_with_their_stored_modification_time_to_the_second():
    body = render(event()).decode()
    assert "DTSTAMP:20260301T123045Z\r\n" in body
    assert "LAST-MODIFIED:20260301T123045Z\r\n" in body


def test_the_same_events_give_the_same_bytes():
    assert render(event(), event(pk=2)) == render(event(), event(pk=2))


def test_it_builds_uids_from_kind_id_and_the_site_host():
    body = render(event(kind="go_live", pk=42), event(kind="milestone", pk=42)).decode()
    assert "UID:go-live-42@relcal.example.com\r\n" in body
    assert "UID:milestone-42@relcal.example.com\r\n" in body


def test_it_refuses_naive_datetimes_and_mixed_dates():
    with pytest.raises(ValueError, match="Naive"):
        render(event(start=datetime(2026, 3, 2, 9), end=datetime(2026, 3, 2, 10)))
    with pytest.raises(ValueError, match="both be dates or times"):
        render(event(start=date(2026, 3, 2)))


def test_an_empty_calendar_is_valid_too():
    body = render()
    check_raw(body)
    parse_strictly(body)


def test_the_etag_is_strong_and_depends_on_every_part():
    tag = ical.etag("a", (1, 2))
    assert tag.startswith('"') and not tag.startswith("W/")
    assert tag == ical.etag("a", (1, 2))
    assert tag != ical.etag("a", (1, 3))
