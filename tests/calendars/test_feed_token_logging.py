"""A revoked or mistyped feed token never reaches the log: Django's "Not Found" warning for
``/feeds/<token>.ics`` names the path with the token redacted."""

from __future__ import annotations

import logging

import pytest

from calendars import tokens

TOKEN = "s3cr3t-feed-token-0123456789abcdef"


@pytest.mark.django_db
def test_a_mistyped_feed_token_is_logged_redacted(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/feeds/{TOKEN}.ics")
    assert response.status_code == 404
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Not Found: /feeds/[redacted].ics"
    assert TOKEN not in caplog.text


@pytest.mark.django_db
def test_a_revoked_feed_token_is_logged_redacted(client, caplog, alice):
    token, secret = tokens.feed_token_create(actor=alice, name="Phone")
    tokens.feed_token_revoke(actor=alice, token=token)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(f"/feeds/{secret}.ics").status_code == 404
    assert secret not in caplog.text
    assert "Not Found: /feeds/[redacted].ics" in caplog.text


@pytest.mark.django_db
def test_other_missing_pages_are_logged_as_they_are(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/no-such-page/").status_code == 404
    assert "Not Found: /no-such-page/" in caplog.text
