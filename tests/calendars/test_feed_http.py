"""The feed over HTTP: conditional requests, HEAD, tokens, filters, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.http import http_date

from calendars import sources, tokens
from calendars.models import FeedToken
from releases import services
from releases.models import Milestone, Release, Team

from .conftest import HOST, events_by_uid, parse_strictly

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(manager, make_release, soon):
    release = make_release(name="Payments 4.2", version="4.2")
    services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=(soon - timedelta(days=2)).date()
    )
    return release


def test_it_answers_with_a_strong_etag_and_last_modified(feed, make_token, manager, plan):
    response = feed(make_token(manager))
    assert response.status_code == 200
    assert response["ETag"].startswith('"') and len(response["ETag"]) > 20
    latest = max(Milestone.objects.get(release=plan).updated_at, plan.team.updated_at)
    assert response["Last-Modified"] == http_date(latest.timestamp())
    assert response["Cache-Control"] == "private, no-cache"
    assert response["Content-Type"] == "text/calendar; charset=utf-8"


def test_a_matching_etag_gets_304_without_building_the_calendar(
    feed, make_token, manager, plan, monkeypatch, django_assert_max_num_queries
):
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    monkeypatch.setattr(sources, "collect", lambda query: pytest.fail("built"))
    # Session, token, then one aggregate per group of kinds (releases, bookings, maintenance,
    # sign-off deadlines).
    with django_assert_max_num_queries(10):
        response = feed(raw, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_a_weak_or_listed_etag_matches_and_another_does_not(
    feed, make_token, manager, plan, monkeypatch
):
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    assert feed(raw, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert feed(raw, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert feed(raw, headers={"If-None-Match": "*"}).status_code == 304
    changed = feed(raw, headers={"If-None-Match": '"0123456789abcdef"'})
    assert changed.status_code == 200
    assert changed["ETag"] == etag
    assert feed(raw, headers={"If-None-Match": 'W/"0123456789abcdef"'}).status_code == 200


def test_the_etag_changes_when_the_feed_would(feed, make_token, manager, plan):
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    services.release_update(actor=manager, release=plan, description="Only on the page.")
    assert feed(raw)["ETag"] != etag  # DTSTAMP moved
    etag = feed(raw)["ETag"]
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    Milestone.objects.filter(release=plan).delete()  # a deletion changes no updated_at
    response = feed(raw, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_if_modified_since_compares_whole_seconds(feed, make_token, manager, plan):
    raw = make_token(manager)
    last_modified = feed(raw)["Last-Modified"]
    assert feed(raw, headers={"If-Modified-Since": last_modified}).status_code == 304
    plan.refresh_from_db()
    stamp = plan.updated_at.timestamp()
    # The stored time has a fraction of a second; the header has none and still matches.
    assert feed(raw, headers={"If-Modified-Since": http_date(stamp + 5)}).status_code == 304
    old = feed(raw, headers={"If-Modified-Since": http_date(stamp - 1)})
    assert old.status_code == 200
    assert b"BEGIN:VEVENT" in old.content
    very_old = feed(raw, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert very_old.status_code == 200
    garbage = feed(raw, headers={"If-Modified-Since": "yesterday-ish"})
    assert garbage.status_code == 200


def test_a_changed_etag_wins_over_a_current_date(feed, make_token, manager, plan):
    raw = make_token(manager)
    last_modified = feed(raw)["Last-Modified"]
    response = feed(raw, headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified})
    assert response.status_code == 200


def test_a_304_by_date_skips_the_calendar(feed, make_token, manager, plan, monkeypatch):
    raw = make_token(manager)
    last_modified = feed(raw)["Last-Modified"]
    monkeypatch.setattr(sources, "collect", lambda query: pytest.fail("built"))
    assert feed(raw, headers={"If-Modified-Since": last_modified}).status_code == 304


def test_head_answers_like_get_without_a_body(feed, make_token, manager, plan):
    raw = make_token(manager)
    get = feed(raw)
    head = feed(raw, method="head")
    assert head.status_code == 200
    assert head.content == b""
    for header in ("ETag", "Last-Modified", "Content-Type"):
        assert head[header] == get[header]
    assert feed(raw, method="head", headers={"If-None-Match": get["ETag"]}).status_code == 304


def test_other_methods_are_refused(client, make_token, manager):
    url = tokens.feed_url(make_token(manager)).split("relcal.example.com", 1)[1]
    assert client.post(url).status_code == 405


def test_an_unknown_or_revoked_token_gets_404(feed, make_token, manager, plan):
    raw = make_token(manager)
    assert feed(raw).status_code == 200
    assert feed("x" * 43).status_code == 404
    assert feed(raw[:-1]).status_code == 404
    token = FeedToken.objects.get()
    tokens.feed_token_revoke(actor=manager, token=token)
    assert feed(raw).status_code == 404
    assert feed(raw, method="head").status_code == 404


def test_a_deactivated_users_token_gets_404(feed, make_token, manager, plan):
    raw = make_token(manager)
    manager.is_active = False
    manager.save()
    assert feed(raw).status_code == 404


def test_the_token_records_when_it_was_last_used(feed, make_token, manager):
    raw = make_token(manager)
    assert FeedToken.objects.get().last_used_at is None
    feed(raw)
    used = FeedToken.objects.get().last_used_at
    assert used is not None
    feed(raw)
    assert FeedToken.objects.get().last_used_at == used  # at most one write an hour


def test_query_parameters_narrow_the_feed(feed, make_token, manager, make_release, search, soon):
    payments_release = make_release()
    search_release = make_release(team=search)
    freeze = services.freeze_window_create(
        actor=manager, name="All", start=soon + timedelta(days=9), end=soon + timedelta(days=10)
    )
    raw = make_token(manager)

    def uids(**params) -> set[str]:
        return set(events_by_uid(parse_strictly(feed(raw, **params).content)))

    go_live = f"go-live-{payments_release.pk}@{HOST}"
    other = f"go-live-{search_release.pk}@{HOST}"
    everyone = f"freeze-{freeze.pk}@{HOST}"
    assert uids() == {go_live, other, everyone}
    assert uids(team="payments") == {go_live, everyone}
    assert uids(team=["payments", "search"]) == {go_live, other, everyone}
    assert uids(kind="freeze") == {everyone}
    assert uids(kind=["go_live", "milestone"]) == {go_live, other}
    assert uids(release=search_release.pk) == {other}
    assert uids(environment="staging", kind="go_live") == {go_live, other}  # not used yet
    assert uids(team="no-such-team") == {everyone}


def test_a_tokens_own_filters_and_the_urls_narrow_each_other(
    feed, make_token, manager, make_release, search
):
    payments_release = make_release()
    make_release(team=search)
    raw = make_token(manager, teams=["payments"], kinds=["go_live"])
    go_live = f"go-live-{payments_release.pk}@{HOST}"
    assert set(events_by_uid(parse_strictly(feed(raw).content))) == {go_live}
    assert set(events_by_uid(parse_strictly(feed(raw, team="search").content))) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "lunch"}, "kinds"),
        ({"release": "abc"}, "release"),
        ({"release": "²"}, "release"),
        ({"release": "9" * 30}, "release"),
        ({"team": "a b"}, "teams"),
        ({"team": "x\x00"}, "teams"),
    ],
)
def test_bad_filters_get_400_naming_the_filter(feed, make_token, manager, params, field):
    response = feed(make_token(manager), **params)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{field}:")


def test_the_personal_feed_holds_what_the_user_manages_or_watches(
    feed, make_token, manager, alice, make_release, search, soon
):
    managed = make_release(manager=alice)
    watched = make_release(team=search)
    watched.watchers.add(alice)
    make_release()  # neither
    services.freeze_window_create(
        actor=manager, name="All", start=soon + timedelta(days=9), end=soon + timedelta(days=10)
    )
    expected = {f"go-live-{managed.pk}@{HOST}", f"go-live-{watched.pk}@{HOST}"}
    mine = events_by_uid(parse_strictly(feed(make_token(alice), mine="1").content))
    assert set(mine) == expected
    stored = events_by_uid(parse_strictly(feed(make_token(alice, mine=True)).content))
    assert set(stored) == expected


def bulk_releases(team: Team, count: int, soon) -> None:
    Release.objects.bulk_create(
        Release(
            team=team,
            name=f"{team.name} bulk {n}",
            version=f"b{n}",
            go_live=soon + timedelta(hours=n),
        )
        for n in range(count)
    )
    Milestone.objects.bulk_create(
        Milestone(release=release, kind="code_freeze", date=(soon - timedelta(days=1)).date())
        for release in Release.objects.filter(team=team)
    )


def test_the_feed_runs_the_same_queries_for_10_and_1000_events(
    feed, make_token, manager, payments, search, soon, django_assert_num_queries, admin
):
    services.freeze_window_create(
        actor=manager, name="Team", start=soon, end=soon + timedelta(days=1), team=search
    )
    bulk_releases(payments, 5, soon)  # 10 events
    raw = make_token(manager)
    feed(raw)  # the first request also records last_used_at

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert feed(raw).status_code == 200
    with CaptureQueriesContext(connection) as few_304:
        assert feed(raw, headers={"If-None-Match": feed(raw)["ETag"]}).status_code == 304
    bulk_releases(search, 500, soon)  # 1000 more events
    with django_assert_num_queries(len(few)):
        response = feed(raw)
    assert response.content.count(b"BEGIN:VEVENT") == 1011
    etag = response["ETag"]
    with django_assert_num_queries(len(few_304) - len(few)):
        assert feed(raw, headers={"If-None-Match": etag}).status_code == 304


def test_the_public_feed_is_off_by_default(client):
    assert client.get("/feeds/public.ics").status_code == 404


def test_the_public_feed_shows_only_public_teams(
    client, settings, manager, make_release, search, soon
):
    settings.RELCAL_PUBLIC_FEED = True
    search.is_private = True
    search.save()
    public = make_release()
    make_release(team=search)
    services.freeze_window_create(
        actor=manager, name="Search only", start=soon, end=soon + timedelta(days=1), team=search
    )
    everyone = services.freeze_window_create(
        actor=manager, name="All", start=soon + timedelta(days=2), end=soon + timedelta(days=3)
    )
    response = client.get("/feeds/public.ics")
    assert response.status_code == 200
    events = events_by_uid(parse_strictly(response.content))
    assert set(events) == {f"go-live-{public.pk}@{HOST}", f"freeze-{everyone.pk}@{HOST}"}
    assert client.get("/feeds/public.ics", {"mine": "1"}).content.count(b"BEGIN:VEVENT") == 0
