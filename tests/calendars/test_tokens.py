"""Feed tokens: storage, the API, the profile page and the feed_url command."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from calendars import tokens
from calendars.models import FeedToken

from .conftest import SITE

pytestmark = pytest.mark.django_db

API = "/api/v1/feed-tokens/"


def raw_from(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".ics")


def test_only_a_sha256_of_the_token_is_stored(manager):
    token, raw = tokens.feed_token_create(actor=manager, name="Google")
    assert len(raw) >= 43  # 32 random bytes, base64url
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = FeedToken.objects.filter(pk=token.pk).values()[0]
    assert raw not in str(stored)
    assert FeedToken.objects.for_raw(raw).get() == token


def test_two_tokens_never_share_a_secret(manager):
    raws = {tokens.feed_token_create(actor=manager, name=f"t{n}")[1] for n in range(20)}
    assert len(raws) == 20


def test_the_api_shows_the_raw_token_once_at_creation(api, manager, make_release, client):
    make_release()
    response = api.as_user(manager).post(
        API, {"name": "Google, work", "filters": {"teams": ["payments"], "kinds": ["go_live"]}}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    raw = body["token"]
    assert body["url"] == f"{SITE}/feeds/{raw}.ics"
    assert body["webcal_url"] == f"webcal://relcal.example.com/feeds/{raw}.ics"
    assert body["filters"] == {"teams": ["payments"], "kinds": ["go_live"]}
    assert body["active"] is True

    listing = api.get(API).json()
    assert listing["count"] == 1
    assert raw not in str(listing)
    assert "token" not in listing["results"][0]
    detail = api.get(f"{API}{body['id']}/").json()
    assert raw not in str(detail)
    assert client.get(reverse("feed", args=[raw])).status_code == 200


def test_the_api_renames_and_revokes_a_token(api, manager, client):
    created = api.as_user(manager).post(API, {"name": "Old"}).json()
    renamed = api.patch(f"{API}{created['id']}/", {"name": "Outlook"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Outlook"
    assert api.delete(f"{API}{created['id']}/").status_code == 204
    listed = api.get(API).json()["results"][0]
    assert listed["active"] is False and listed["revoked_at"]
    assert client.get(reverse("feed", args=[created["token"]])).status_code == 404
    assert api.delete(f"{API}{created['id']}/").status_code == 204  # idempotent


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"kinds": ["lunch"]}, "kinds"),
        ({"teams": "payments"}, "teams"),
        ({"releases": ["one"]}, "releases"),
        ({"releases": [2**64]}, "releases"),
        ({"colour": ["red"]}, "filters"),
        ({"mine": "yes"}, "mine"),
        ([1, 2], "filters"),
    ],
)
def test_the_api_refuses_bad_filters_naming_them(api, manager, filters, field):
    response = api.as_user(manager).post(API, {"name": "x", "filters": filters}, format="json")
    assert response.status_code == 400
    assert field in response.json()["filters"]
    assert not FeedToken.objects.exists()


def test_the_api_refuses_a_missing_or_oversized_name(api, manager):
    assert "name" in api.as_user(manager).post(API, {}).json()
    assert "name" in api.post(API, {"name": "x" * 101}).json()
    assert not FeedToken.objects.exists()


def test_an_outsider_can_neither_see_nor_revoke_anothers_token(api, manager, outsider, client):
    token, raw = tokens.feed_token_create(actor=manager, name="Mine")
    as_outsider = api.as_user(outsider)
    assert as_outsider.get(API).json()["count"] == 0
    assert as_outsider.get(f"{API}{token.pk}/").status_code == 404
    assert as_outsider.patch(f"{API}{token.pk}/", {"name": "Ha"}).status_code == 404
    assert as_outsider.delete(f"{API}{token.pk}/").status_code == 404
    token.refresh_from_db()
    assert token.is_active and token.name == "Mine"
    assert client.get(reverse("feed", args=[raw])).status_code == 200


def test_the_api_needs_a_signed_in_user(client):
    assert client.get(API).status_code == 401
    assert client.post(API, {"name": "x"}).status_code == 401


def test_the_services_refuse_a_stranger(manager, outsider):
    from django.core.exceptions import PermissionDenied

    token, _ = tokens.feed_token_create(actor=manager, name="Mine")
    with pytest.raises(PermissionDenied):
        tokens.feed_token_revoke(actor=outsider, token=token)
    with pytest.raises(PermissionDenied):
        tokens.feed_token_rename(actor=outsider, token=token, name="x")


# --- Profile page -------------------------------------------------------------------------


def test_the_profile_page_creates_a_link_and_shows_it_once(client, alice, payments):
    client.force_login(alice)
    response = client.post(
        reverse("profile"), {"name": "iPhone", "teams": ["payments"], "kinds": ["freeze"]}
    )
    assert response.status_code == 302
    page = client.get(reverse("profile")).content.decode()
    token = FeedToken.objects.get(user=alice)
    assert token.filters == {"teams": ["payments"], "kinds": ["freeze"]}
    assert f"{SITE}/feeds/" in page and "webcal://relcal.example.com/feeds/" in page
    assert "iPhone" in page and "Payments · Freeze window" in page
    again = client.get(reverse("profile")).content.decode()
    assert f"{SITE}/feeds/" not in again  # shown once
    assert "iPhone" in again


@pytest.mark.parametrize(
    ("site_url", "label"),
    [
        ("https://relcal.example.com", "For Google Calendar and Outlook (https)"),
        ("http://127.0.0.1:8080", "For Google Calendar and Outlook (http)"),
    ],
    ids=["https", "http"],
)
def test_the_new_link_is_labelled_by_its_real_scheme(client, alice, settings, site_url, label):
    settings.SITE_URL = site_url
    client.force_login(alice)
    client.post(reverse("profile"), {"name": "iPhone"})
    page = client.get(reverse("profile")).content.decode()
    assert label in page
    assert f'value="{site_url}/feeds/' in page


def test_the_profile_page_refuses_a_nameless_link(client, alice):
    client.force_login(alice)
    response = client.post(reverse("profile"), {"name": ""})
    assert response.status_code == 400
    assert not FeedToken.objects.exists()


def test_the_profile_page_renames_and_revokes(client, alice):
    token, raw = tokens.feed_token_create(actor=alice, name="Old")
    client.force_login(alice)
    client.post(reverse("feed-token-rename", args=[token.pk]), {"name": "Thunderbird"})
    token.refresh_from_db()
    assert token.name == "Thunderbird"
    response = client.post(reverse("feed-token-revoke", args=[token.pk]), follow=True)
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert not token.is_active
    assert client.get(reverse("feed", args=[raw])).status_code == 404


def test_the_profile_page_keeps_other_users_tokens_out_of_reach(client, alice, outsider):
    token, _ = tokens.feed_token_create(actor=alice, name="Alice's")
    client.force_login(outsider)
    assert "Alice's" not in client.get(reverse("profile")).content.decode()
    assert client.post(reverse("feed-token-revoke", args=[token.pk])).status_code == 404
    assert (
        client.post(reverse("feed-token-rename", args=[token.pk]), {"name": "x"}).status_code == 404
    )
    token.refresh_from_db()
    assert token.is_active and token.name == "Alice's"


def test_the_profile_page_needs_a_login(client):
    assert client.get(reverse("profile")).status_code == 302


# --- feed_url command ---------------------------------------------------------------------


def test_feed_url_prints_a_working_subscription_url(client, alice, make_release, search):
    mine = make_release()
    make_release(team=search)
    out = StringIO()
    call_command("feed_url", "alice", "--team", "payments", stdout=out)
    url = out.getvalue().strip()
    assert url.startswith(f"{SITE}/feeds/") and url.endswith(".ics")
    token = FeedToken.objects.get(user=alice)
    assert token.filters == {"teams": ["payments"]}
    body = client.get(reverse("feed", args=[raw_from(url)])).content
    assert f"go-live-{mine.pk}@".encode() in body
    assert body.count(b"BEGIN:VEVENT") == 1


def test_feed_url_prints_webcal_on_request(alice):
    out = StringIO()
    call_command("feed_url", "alice", "--webcal", "--kind", "freeze", stdout=out)
    assert out.getvalue().startswith("webcal://relcal.example.com/feeds/")


def test_feed_url_refuses_an_unknown_user_or_kind(alice):
    with pytest.raises(CommandError, match="No user"):
        call_command("feed_url", "nobody")
    with pytest.raises(CommandError, match="kinds"):
        call_command("feed_url", "alice", "--kind", "lunch")
    assert not FeedToken.objects.exists()


def test_the_subscribe_button_refuses_a_name_with_a_nul_character(client, alice):
    client.force_login(alice)
    client.post(reverse("calendar-subscribe"), {"name": "bad\x00name"})
    assert not FeedToken.objects.exists()
