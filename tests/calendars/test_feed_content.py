"""What a subscriber's calendar receives: kinds, summaries, statuses, times, SEQUENCE."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from releases import services

from .conftest import HOST, SITE, events_by_uid, parse_strictly

pytestmark = pytest.mark.django_db


@pytest.fixture
def later_now(monkeypatch):
    """``later_now(moment)``: from now on, the clock reads ``moment`` (requests, saves)."""

    def move(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return move


def feed_events(feed, raw, **params) -> dict:
    response = feed(raw, **params)
    assert response.status_code == 200, response.content
    return events_by_uid(parse_strictly(response.content))


def test_the_feed_holds_go_lives_milestones_and_freezes(
    feed, make_token, manager, make_release, soon
):
    release = make_release(name="Payments 4.2", version="4.2", window_end=soon + timedelta(hours=2))
    freeze_day = (soon - timedelta(days=3)).date()
    code_freeze = services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=freeze_day
    )
    go_no_go = services.milestone_create(
        actor=manager, release=release, kind="go_no_go", at=soon - timedelta(hours=4)
    )
    freeze = services.freeze_window_create(
        actor=manager,
        name="Year-end",
        start=soon + timedelta(days=30),
        end=soon + timedelta(days=40),
    )
    response = feed(make_token(manager))
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    events = events_by_uid(parse_strictly(response.content))

    go_live = events[f"go-live-{release.pk}@{HOST}"]
    assert str(go_live["SUMMARY"]) == "Payments 4.2 — go-live"
    assert go_live.start == soon and go_live.end == soon + timedelta(hours=2)
    assert "State: Draft" in str(go_live["DESCRIPTION"])
    assert f"{SITE}/releases/{release.pk}/" in str(go_live["DESCRIPTION"])
    assert str(go_live["URL"]) == f"{SITE}/releases/{release.pk}/"

    milestone = events[f"milestone-{code_freeze.pk}@{HOST}"]
    assert str(milestone["SUMMARY"]) == "Payments 4.2 — code freeze"
    assert milestone.start == freeze_day
    assert milestone.end == freeze_day + timedelta(days=1)  # exclusive
    assert events[f"milestone-{go_no_go.pk}@{HOST}"].start == soon - timedelta(hours=4)

    blackout = events[f"freeze-{freeze.pk}@{HOST}"]
    assert str(blackout["SUMMARY"]) == "All teams — freeze: Year-end"
    assert blackout.start == freeze.start and blackout.end == freeze.end


def test_a_go_live_milestone_is_not_shown_twice(feed, make_token, manager, make_release, soon):
    release = make_release()
    services.milestone_create(actor=manager, release=release, kind="go_live", at=soon)
    assert list(feed_events(feed, make_token(manager))) == [f"go-live-{release.pk}@{HOST}"]


def test_the_summary_names_the_team_when_the_release_name_does_not(
    feed, make_token, manager, make_release
):
    release = make_release(name="Card tokens", version="4.3")
    events = feed_events(feed, make_token(manager))
    assert str(events[f"go-live-{release.pk}@{HOST}"]["SUMMARY"]) == (
        "Payments · Card tokens 4.3 — go-live"
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ([], "TENTATIVE"),
        (["planned"], "TENTATIVE"),
        (["planned", "scope_frozen"], "CONFIRMED"),
        (["planned", "scope_frozen", "testing"], "CONFIRMED"),
        (["cancelled"], "CANCELLED"),
    ],
)
def test_the_status_follows_the_lifecycle(feed, make_token, manager, make_release, path, status):
    release = make_release()
    for state in path:
        services.release_transition(actor=manager, release=release, to_state=state, reason="x")
    events = feed_events(feed, make_token(manager))
    assert str(events[f"go-live-{release.pk}@{HOST}"]["STATUS"]) == status


def test_a_cancelled_release_stays_thirty_days_as_cancelled_then_leaves(
    feed, make_token, manager, make_release, soon, later_now
):
    release = make_release(name="Payments 9.9", version="9.9")
    milestone = services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=(soon - timedelta(days=2)).date()
    )
    services.release_transition(
        actor=manager, release=release, to_state="cancelled", reason="Superseded by 10.0"
    )
    raw = make_token(manager)
    cancelled_at = timezone.now()

    later_now(cancelled_at + timedelta(days=29, hours=23))
    first = feed(raw)
    events = events_by_uid(parse_strictly(first.content))
    go_live = events[f"go-live-{release.pk}@{HOST}"]
    assert str(go_live["STATUS"]) == "CANCELLED"
    assert str(go_live["SUMMARY"]) == "Cancelled: Payments 9.9 — go-live"
    assert str(events[f"milestone-{milestone.pk}@{HOST}"]["STATUS"]) == "CANCELLED"

    later_now(cancelled_at + timedelta(days=30, minutes=1))
    later = feed(raw)
    assert events_by_uid(parse_strictly(later.content)) == {}
    # Leaving is a change: a client holding the old copy gets the new one, by ETag and by date.
    assert later["ETag"] != first["ETag"]
    assert feed(raw, headers={"If-None-Match": first["ETag"]}).status_code == 200
    stale = feed(raw, headers={"If-Modified-Since": first["Last-Modified"]})
    assert stale.status_code == 200
    assert feed(raw, headers={"If-Modified-Since": later["Last-Modified"]}).status_code == 304


def test_dtstamp_and_last_modified_come_from_the_stored_time_not_the_request(
    feed, make_token, manager, make_release, later_now
):
    release = make_release()
    raw = make_token(manager)
    first = feed(raw).content
    later_now(timezone.now() + timedelta(minutes=5))
    assert feed(raw).content == first
    go_live = events_by_uid(parse_strictly(first))[f"go-live-{release.pk}@{HOST}"]
    stamp = release.updated_at.replace(microsecond=0)
    assert go_live["DTSTAMP"].dt == stamp
    assert go_live["LAST-MODIFIED"].dt == stamp


def sequence_of(feed, raw, uid: str) -> int:
    return int(feed_events(feed, raw)[uid]["SEQUENCE"])


def test_sequence_rises_on_every_visible_change_and_not_on_a_no_op_save(
    feed, make_token, manager, make_release, soon
):
    release = make_release(name="Payments 4.2", version="4.2")
    milestone = services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=(soon - timedelta(days=3)).date()
    )
    raw = make_token(manager)
    go_live = f"go-live-{release.pk}@{HOST}"
    code_freeze = f"milestone-{milestone.pk}@{HOST}"
    assert sequence_of(feed, raw, go_live) == 0

    services.release_update(actor=manager, release=release, go_live=soon + timedelta(hours=1))
    assert sequence_of(feed, raw, go_live) == 1
    before = feed(raw).content

    # Saving the same values again changes nothing a subscriber sees, not even DTSTAMP.
    release.refresh_from_db()
    services.release_update(actor=manager, release=release, name="Payments 4.2", version="4.2")
    services.milestone_update(actor=manager, milestone=milestone, kind="code_freeze")
    assert feed(raw).content == before

    services.release_transition(actor=manager, release=release, to_state="planned")
    assert sequence_of(feed, raw, go_live) == 2
    # The milestone shows the release's name and state, so it is re-sent too.
    assert sequence_of(feed, raw, code_freeze) == 2

    services.milestone_update(actor=manager, milestone=milestone, done=True)
    events = feed_events(feed, raw)
    assert int(events[code_freeze]["SEQUENCE"]) == 3
    assert str(events[code_freeze]["SUMMARY"]) == "Payments 4.2 — code freeze (done)"

    # A change no subscriber sees (the rollback plan) moves neither.
    services.release_update(actor=manager, release=release, rollback_plan="Flip back to blue.")
    assert sequence_of(feed, raw, go_live) == 2


def test_a_freeze_edit_raises_its_sequence(feed, make_token, manager, soon):
    freeze = services.freeze_window_create(
        actor=manager, name="Black Friday", start=soon, end=soon + timedelta(days=3)
    )
    raw = make_token(manager)
    uid = f"freeze-{freeze.pk}@{HOST}"
    services.freeze_window_update(actor=manager, freeze=freeze, name="Black Friday")
    assert sequence_of(feed, raw, uid) == 0
    services.freeze_window_update(actor=manager, freeze=freeze, end=soon + timedelta(days=4))
    assert sequence_of(feed, raw, uid) == 1


def test_events_across_a_dst_change_keep_their_real_times(
    settings, feed, make_token, manager, payments
):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    # Clocks go forward at 02:00 on 28 March 2027: the window lasts one real hour.
    go_live = datetime(2027, 3, 28, 1, 30, tzinfo=berlin)
    release = services.release_create(
        actor=manager,
        team=payments,
        name="Payments 5.0",
        version="5.0",
        go_live=go_live,
        window_end=datetime(2027, 3, 28, 3, 30, tzinfo=berlin),
    )
    milestone = services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=date(2027, 3, 27)
    )
    # Clocks go back at 03:00 on 31 October 2027: this window lasts three real hours.
    autumn = services.freeze_window_create(
        actor=manager,
        name="Autumn",
        start=datetime(2027, 10, 31, 1, 0, tzinfo=berlin),
        end=datetime(2027, 10, 31, 3, 0, tzinfo=berlin),
    )
    body = feed(make_token(manager)).content
    text = body.decode()
    assert "DTSTART:20270328T003000Z\r\n" in text
    assert "DTEND:20270328T013000Z\r\n" in text
    assert "DTSTART;VALUE=DATE:20270327\r\n" in text
    assert "DTEND;VALUE=DATE:20270328\r\n" in text
    assert "DTSTART:20271030T230000Z\r\n" in text
    assert "DTEND:20271031T020000Z\r\n" in text
    events = events_by_uid(parse_strictly(body))
    window = events[f"go-live-{release.pk}@{HOST}"]
    assert window.end - window.start == timedelta(hours=1)
    assert events[f"milestone-{milestone.pk}@{HOST}"].start == date(2027, 3, 27)
    freeze = events[f"freeze-{autumn.pk}@{HOST}"]
    assert freeze.end - freeze.start == timedelta(hours=3)
    assert freeze.start.astimezone(berlin).hour == 1


def test_unicode_commas_semicolons_and_newlines_in_names_survive(
    feed, make_token, manager, make_release, soon, admin
):
    team = services.team_create(actor=admin, name="Zahlungen; Ä, Ö & Ü", slug="zahlungen")
    name = "Größe 4.2, “beta”; \\ next 🚀"
    release = make_release(team=team, name=name, version="4.2")
    milestone = services.milestone_create(
        actor=manager,
        release=release,
        kind="custom",
        title="Line one\nline two, with; all",
        at=soon - timedelta(hours=1),
    )
    freeze = services.freeze_window_create(
        actor=manager,
        name="日本語, ok; yes",
        reason="Because:\nthe year ends, the shop is busy; really",
        start=soon + timedelta(days=3),
        end=soon + timedelta(days=4),
        team=team,
    )
    events = feed_events(feed, make_token(manager))
    label = f"Zahlungen; Ä, Ö & Ü · {name}"
    assert str(events[f"go-live-{release.pk}@{HOST}"]["SUMMARY"]) == f"{label} — go-live"
    assert str(events[f"milestone-{milestone.pk}@{HOST}"]["SUMMARY"]) == (
        f"{label} — Line one\nline two, with; all"
    )
    blackout = events[f"freeze-{freeze.pk}@{HOST}"]
    assert str(blackout["SUMMARY"]) == "Zahlungen; Ä, Ö & Ü — freeze: 日本語, ok; yes"
    assert "the year ends, the shop is busy; really" in str(blackout["DESCRIPTION"])
