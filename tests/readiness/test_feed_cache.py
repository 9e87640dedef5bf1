"""Readiness in feeds kept in the cache (calendars.freshness): a check report or a waiver that
changes a go/no-go's verdict changes the feed's ETag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache

from approvals.readiness import services as readiness
from releases import services
from tests.calendars import conftest as calendar_fixtures
from tests.conftest import PASSWORD

from .conftest import walk

# The feed helpers of tests/calendars: a token, a GET of its feed, SITE_URL set.
feed = calendar_fixtures.feed
make_token = calendar_fixtures.make_token
_site = calendar_fixtures._site


@pytest.fixture(autouse=True)
def cached_feeds(settings):
    settings.RELCAL_FEED_CACHE = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def build(frozen, manager, candidate, green, sign_all, policy, soon):
    """A Payments release in testing, GO, with its go/no-go meeting ahead: its current build."""
    release = frozen()
    services.milestone_create(
        actor=manager, release=release, kind="go_no_go", at=soon - timedelta(days=2)
    )
    current = candidate(release)
    green(current)
    walk(release, manager, "testing")
    sign_all(release)
    return current


def test_a_failing_check_changes_the_cached_etag(feed, make_token, manager, build, check):
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    check(build, "integration-tests", "failed")
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 200


def test_a_waiver_changes_the_cached_etag(feed, make_token, manager, build, check, carol):
    check(build, "integration-tests", "failed")
    raw = make_token(manager)
    etag = feed(raw)["ETag"]
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    readiness.waiver_record(
        actor=carol,
        candidate=build,
        gate="checks",
        reason="Known flake in the sandbox, tracked in PAY-9.",
        password=PASSWORD,
    )
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 200
