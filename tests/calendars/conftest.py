"""Feed fixtures: tokens for the shared personas, and one strict check every feed must pass."""

from __future__ import annotations

import re
import warnings

import icalendar
import pytest
import vobject
from django.urls import reverse
from ical.calendar_stream import IcsCalendarStream

from calendars import tokens


@pytest.fixture
def make_token():
    """``make_token(user, **filters)`` -> the raw token of a new feed token for ``user``."""

    def make(user, name: str = "Test feed", **filters) -> str:
        return tokens.feed_token_create(actor=user, name=name, filters=filters)[1]

    return make


@pytest.fixture
def feed(client):
    """``feed(raw, **params)`` GETs a feed; extra ``headers={...}`` and ``method="head"``."""

    def get(raw: str, *, method: str = "get", headers: dict | None = None, **params):
        url = reverse("feed", args=[raw])
        return getattr(client, method)(url, params, headers=headers or {})

    return get


def check_raw(body: bytes) -> None:
    """The byte-level rules: CRLF everywhere, no line over 75 octets, unique UIDs, and a
    VTIMEZONE for every TZID used."""
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b""), "a bare LF"
    assert b"\r" not in body.replace(b"\r\n", b""), "a bare CR"
    lines = body.split(b"\r\n")[:-1]
    too_long = [line for line in lines if len(line) > 75]
    assert not too_long, too_long[:3]
    body.decode("utf-8")  # folding must not split a multi-byte character
    for line in lines:
        line.decode("utf-8")
    unfolded = re.sub(rb"\r\n[ \t]", b"", body).decode()
    uids = re.findall(r"^UID:(.*)$", unfolded, flags=re.M)
    assert len(uids) == len(set(uids)), "duplicate UIDs"
    tzids = set(re.findall(r";TZID=([^;:]+)", unfolded))
    zones = set(re.findall(r"^TZID:(.*)$", unfolded, flags=re.M))
    assert tzids <= zones, f"TZIDs without VTIMEZONE: {tzids - zones}"


def parse_strictly(body: bytes) -> icalendar.Calendar:
    """Parse with three independent parsers, each in its strictest mode, and the raw rules."""
    check_raw(body)
    text = body.decode("utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # icalendar reports some problems only as warnings
        cal = icalendar.Calendar.from_ical(text)
    for component in cal.walk():
        assert not getattr(component, "errors", None), (component.name, component.errors)
    vobject.readOne(text, validate=True)
    IcsCalendarStream.calendar_from_ics(text)
    return cal


def events_by_uid(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(event["UID"]): event for event in cal.walk("VEVENT")}


SITE = "https://relcal.example.com"
HOST = "relcal.example.com"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
