"""Feeds' fingerprints kept in the cache (calendars.freshness): a 304 without aggregates, and
every kind of write that changes a feed changes its ETag all the same."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from approvals import services as approvals
from approvals.models import DEFAULT_MEANING
from calendars import checks, freshness, sources, tokens
from calendars.models import FeedToken
from environments import services as environments
from environments.models import Environment
from releases import roles, services
from reminders.models import NotificationPreference
from tests.approvals.conftest import make_user, walk
from tests.conftest import PASSWORD

from .conftest import HOST, events_by_uid, parse_strictly

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cached_feeds(settings):
    settings.RELCAL_FEED_CACHE = True
    settings.RELCAL_FEED_CI_HOLD_MINUTES = 30  # the one-hour bookings here are not CI holds
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(admin, manager, alice, outsider, payments, search, make_release, soon):
    """A Payments release awaiting sign-off (its deadline is in the feed), a private Search team
    with a release, an environment, and the outsider's feed token: what a write may change."""
    release = walk(make_release(name="Payments 4.2", version="4.2"), manager, "planned")
    services.scope_item_create(
        actor=manager, release=release, title="Saved cards", ticket_key="PAY-1", owner=alice
    )
    release = walk(release, manager, "scope_frozen")
    services.team_update(actor=admin, team=search, is_private=True)
    hidden = make_release(team=search, name="Search 2.1", version="2.1")
    staging = Environment.objects.create(name="staging", slug="staging", kind="staging")
    return SimpleNamespace(
        admin=admin,
        manager=manager,
        alice=alice,
        viewer=outsider,
        payments=payments,
        search=search,
        release=release,
        hidden=hidden,
        staging=staging,
        soon=soon,
        approver=make_user("priya", roles.PRODUCT_APPROVERS),
    )


def edit_release(w):
    services.release_update(actor=w.manager, release=w.release, name="Payments 4.2 (cards)")


def add_milestone(w):
    services.milestone_create(
        actor=w.manager, release=w.release, kind="code_freeze", date=(w.soon - timedelta(days=3))
    )


def add_freeze(w):
    services.freeze_window_create(
        actor=w.manager, name="Year end", start=w.soon, end=w.soon + timedelta(days=1)
    )


def book(w):
    environments.booking_create(
        actor=w.alice,
        environment=w.staging,
        team=w.payments,
        start=w.soon,
        end=w.soon + timedelta(hours=1),
        purpose="Load test",
    )


def sign_off(w):
    approvals.signoff_record(
        actor=w.approver,
        release=w.release,
        role="product",
        decision="approve",
        meaning=DEFAULT_MEANING["product"],
        password=PASSWORD,
    )


def join_private_team(w):
    services.team_set_members(actor=w.admin, team=w.search, members=[w.viewer])


def make_team_private(w):
    services.team_update(actor=w.admin, team=w.payments, is_private=True)


WRITES = {
    "release edit": edit_release,
    "milestone": add_milestone,
    "freeze window": add_freeze,
    "booking": book,
    "sign-off": sign_off,
    "team membership": join_private_team,
    "team visibility": make_team_private,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_that_changes_the_feed_changes_the_cached_etag(feed, make_token, world, write):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304  # cached now
    write(world)
    response = feed(raw, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_a_304_from_the_cache_runs_no_query(
    feed, make_token, world, monkeypatch, django_assert_num_queries
):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]
    monkeypatch.setattr(sources, "fingerprint", lambda query: pytest.fail("computed"))
    with django_assert_num_queries(0):
        response = feed(raw, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_the_cached_etag_is_the_one_the_feed_computes(feed, make_token, world, settings):
    raw = make_token(world.viewer)
    cached = feed(raw)["ETag"]
    settings.RELCAL_FEED_CACHE = False
    assert feed(raw)["ETag"] == cached


def test_an_unrelated_write_keeps_the_cached_304(
    feed, make_token, world, django_assert_num_queries
):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]
    # A reminder preference is read by no feed: the remembered answer stays.
    NotificationPreference.objects.create(user=world.viewer, kind="milestone", mode="digest")
    with django_assert_num_queries(0):
        assert feed(raw, headers={"If-None-Match": etag}).status_code == 304


def test_a_304_after_any_write_is_the_one_the_feed_computes(feed, make_token, world, settings):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]
    make_token(world.manager, name="Another calendar")  # moves the version: computed again
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    settings.RELCAL_FEED_CACHE = False
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304


def test_a_revoked_token_gets_404_though_its_answer_was_kept(feed, make_token, world):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]
    token = FeedToken.objects.get(user=world.viewer)
    tokens.feed_token_revoke(actor=world.viewer, token=token)
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 404


def test_a_deactivated_users_feed_gets_404_though_its_answer_was_kept(feed, make_token, world):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]
    world.viewer.is_active = False
    world.viewer.save()
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 404


def test_the_token_is_still_marked_used_every_hour(feed, make_token, world, monkeypatch):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    assert FeedToken.objects.get(user=world.viewer).last_used_at == later


def test_the_public_feed_answers_its_304_without_a_query_until_it_is_turned_off(
    client, world, settings, django_assert_num_queries
):
    settings.RELCAL_PUBLIC_FEED = True
    etag = client.get("/feeds/public.ics")["ETag"]
    with django_assert_num_queries(0):
        assert client.get("/feeds/public.ics", headers={"If-None-Match": etag}).status_code == 304
    settings.RELCAL_PUBLIC_FEED = False
    assert client.get("/feeds/public.ics", headers={"If-None-Match": etag}).status_code == 404


def test_a_commit_moves_the_version_again(world, django_capture_on_commit_callbacks):
    before = cache.get(freshness.version_key())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        edit_release(world)
    assert callbacks
    assert cache.get(freshness.version_key()) >= before + 2  # at the write, then at the commit


def test_a_booking_leaves_the_feed_when_its_time_is_up_though_nothing_was_written(
    feed, make_token, world, monkeypatch, settings
):
    book(world)
    raw = make_token(world.viewer)
    response = feed(raw)
    booked = [uid for uid in events_by_uid(parse_strictly(response.content)) if "booking" in uid]
    assert booked
    ended = world.soon + timedelta(hours=1)
    later = ended + timedelta(hours=settings.RELCAL_FEED_BOOKING_HOURS, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    after = feed(raw, headers={"If-None-Match": response["ETag"]})
    assert after.status_code == 200
    assert booked[0] not in events_by_uid(parse_strictly(after.content))


def test_an_unreachable_cache_falls_back_to_computing(feed, make_token, world, monkeypatch):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    edit_release(world)
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 200


def test_a_feed_names_the_release_of_a_team_the_reader_joined(feed, make_token, world):
    raw = make_token(world.viewer)
    uid = f"go-live-{world.hidden.pk}@{HOST}"
    assert uid not in events_by_uid(parse_strictly(feed(raw).content))
    join_private_team(world)
    assert uid in events_by_uid(parse_strictly(feed(raw).content))


LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SHARED = {"default": {"BACKEND": "relcal.cache.RedisCache", "LOCATION": "redis://redis:6379/1"}}


def test_check_deploy_warns_of_a_feed_cache_each_process_keeps_for_itself():
    with override_settings(CACHES=LOCAL):
        assert [warning.id for warning in checks.feed_cache()] == ["calendars.W001"]


def test_check_deploy_accepts_a_shared_feed_cache():
    with override_settings(CACHES=SHARED):
        assert checks.feed_cache() == []


@pytest.fixture
def redis_cache():
    """Django's cache on a real Redis (the PostgreSQL CI leg runs one beside it), under a key
    prefix of its own, whose keys go again afterwards."""
    url = os.environ.get("RELCAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"relcal-test-{uuid.uuid4().hex}"
    backend = {"BACKEND": "relcal.cache.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
    with override_settings(CACHES={"default": backend}):
        yield
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.mark.postgres
def test_a_304_comes_from_redis_without_a_query_and_a_write_ends_it(
    feed, make_token, world, redis_cache, django_assert_num_queries
):
    raw = make_token(world.viewer)
    etag = feed(raw)["ETag"]
    with django_assert_num_queries(0):
        assert feed(raw, headers={"If-None-Match": etag}).status_code == 304
    edit_release(world)
    assert feed(raw, headers={"If-None-Match": etag}).status_code == 200


def _settings_with(**env: str) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "RELCAL_FEED_CACHE")}
    environment = {**inherited, **env, "DJANGO_SETTINGS_MODULE": "relcal.settings"}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND'], settings.RELCAL_FEED_CACHE)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_redis_cache_url_turns_the_feed_cache_on():
    result = _settings_with(CACHE_URL="redis://127.0.0.1:6379/1")
    assert result.stdout.split() == ["relcal.cache.RedisCache", "True"]


def test_a_cache_url_that_is_not_redis_stops_the_start_naming_the_variable():
    result = _settings_with(CACHE_URL="memcached://127.0.0.1:11211")
    assert result.returncode != 0
    assert "CACHE_URL must be a Redis URL" in result.stderr
