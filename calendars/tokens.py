"""Feed tokens: every write (create, rename, revoke) and the URLs a token gives.

Profile page, API and the ``feed_url`` command call these. The raw token exists only in the
return value of ``feed_token_create``; the database keeps its SHA-256 digest.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from relcal.db import locked

from .filters import clean_filters
from .models import FeedToken, hash_token, new_raw_token

MAX_ACTIVE_TOKENS = 50


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if "\x00" in name:  # PostgreSQL cannot store NUL in text: refuse it, named
        raise ValidationError({"name": "Null characters are not allowed."})
    return name


def _require_owner(actor, token: FeedToken) -> None:
    if not actor.is_authenticated or actor.pk != token.user_id:
        raise PermissionDenied("Only the owner of a feed token can change it.")


@transaction.atomic
def feed_token_create(
    *, actor, name: str, filters: dict[str, Any] | None = None
) -> tuple[FeedToken, str]:
    """Create a token for ``actor``'s own feeds; returns it with the raw secret (shown once)."""
    if not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied("Sign in to create a calendar feed.")
    if FeedToken.objects.filter(user=actor).active().count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(
            {"name": f"You have {MAX_ACTIVE_TOKENS} active feed links; revoke one first."}
        )
    raw = new_raw_token()
    token = FeedToken(
        user=actor,
        name=_clean_name(name),
        filters=clean_filters(filters),
        token_hash=hash_token(raw),
    )
    token.full_clean()
    token.save()
    return token, raw


@transaction.atomic
def feed_token_rename(*, actor, token: FeedToken, name: str) -> FeedToken:
    _require_owner(actor, token)
    locked(FeedToken, token.pk)  # a 404 if its owner was deleted meanwhile
    token.name = _clean_name(name)
    token.full_clean()
    token.save(update_fields=["name"])
    return token


@transaction.atomic
def feed_token_revoke(*, actor, token: FeedToken) -> FeedToken:
    """Revoke at once: the next request with the token gets 404. Revoking twice is harmless."""
    _require_owner(actor, token)
    # Read under the lock: of two revocations at once, the second keeps the first's time.
    stored = locked(FeedToken, token.pk)
    if stored.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    else:
        token.revoked_at = stored.revoked_at
    return token


def feed_url(raw: str) -> str:
    """The https (or, in development, http) subscription URL, e.g. for Google Calendar."""
    return settings.SITE_URL + reverse("feed", args=[raw])


def webcal_url(raw: str) -> str:
    """The same feed as ``webcal://``, which opens Apple Calendar and Outlook directly."""
    return "webcal://" + feed_url(raw).split("://", 1)[1]


def feed_links(name: str, raw: str) -> dict[str, str]:
    """What the Subscribe panel shows once, kept in the session until the next page.

    ``scheme`` labels the link by what it is: a development portal serves plain http, and a
    link labelled "https" that starts with ``http://`` sends people looking for a mistake.
    """
    url = feed_url(raw)
    return {"name": name, "url": url, "scheme": url.split("://", 1)[0], "webcal": webcal_url(raw)}
