"""Calendar feeds: ``/feeds/<token>.ics`` and the public feed.

A feed answers conditional requests from a fingerprint (a few aggregate queries) before it
builds a single event: calendar clients poll often and nearly always get 304.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from . import ical, sources
from .filters import filters_from_params, query_for
from .models import FeedToken

LAST_USED_EVERY = timedelta(hours=1)  # how stale FeedToken.last_used_at may get (one UPDATE/h)


def _refresh() -> timedelta:
    return timedelta(minutes=settings.RELCAL_FEED_REFRESH_MINUTES)


def feed_query(user, *filters: dict) -> sources.FeedQuery:
    """The query a feed answers: ``user``'s events narrowed by ``filters``, within the feeds'
    limits on the past (settings ``RELCAL_FEED_PAST_DAYS`` and ``RELCAL_FEED_BOOKING_HOURS``),
    so that a feed's size follows what is current, not the whole history."""
    now = timezone.now()
    return query_for(
        user,
        *filters,
        now=now,
        since=now - timedelta(days=settings.RELCAL_FEED_PAST_DAYS),
        bookings_since=now - timedelta(hours=settings.RELCAL_FEED_BOOKING_HOURS),
    )


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def feed_description() -> str:
    """What a feed holds, in its DESCRIPTION / X-WR-CALDESC: subscribers see its limits."""
    past = _plural(settings.RELCAL_FEED_PAST_DAYS, "day")
    lines = [
        "Release schedule from Relcal.",
        # No commas or semicolons: some readers do not unescape X-WR-CALDESC.
        f"Past events older than {past} are left out: releases shipped before then (with their "
        "milestones) and freezes and maintenance that ended before then.",
        f"Bookings leave {_plural(settings.RELCAL_FEED_BOOKING_HOURS, 'hour')} after they end "
        "or are cancelled.",
    ]
    if settings.RELCAL_FEED_CI_HOLD_MINUTES > 0:
        lines.append(
            "CI holds (bookings a pipeline acquired for less than "
            f"{_plural(settings.RELCAL_FEED_CI_HOLD_MINUTES, 'minute')}) are left out "
            "unless the feed asks for them with ci_holds=1."
        )
    return " ".join(lines)


def _bad_request(error: ValidationError) -> HttpResponse:
    lines = [f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()]
    return HttpResponseBadRequest("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def _feed_headers(response: HttpResponse, etag: str, last_modified: datetime | None) -> None:
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    # Revalidate every time: the answer is a cheap 304 while nothing changed. Private because
    # the URL carries a secret; not for search engines or Referer headers either.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"


def feed_response(request: HttpRequest, query: sources.FeedQuery, *, name: str) -> HttpResponse:
    """The iCalendar answer for ``query``, or 304 when the client's copy is current."""
    print_ = sources.fingerprint(query)
    refresh = _refresh()
    description = feed_description()
    etag = ical.etag(name, query.key(), print_.parts, settings.SITE_URL, refresh, description)
    last_modified = print_.last_modified
    stamp = int(last_modified.timestamp()) if last_modified is not None else None
    not_modified = get_conditional_response(request, etag=etag, last_modified=stamp)
    if not_modified is not None:
        _feed_headers(not_modified, etag, last_modified)
        return not_modified
    body = ical.render(
        sources.collect(query),
        name=name,
        site_url=settings.SITE_URL,
        refresh=refresh,
        description=description,
        url=settings.SITE_URL + reverse("calendar"),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="relcal.ics"'
    _feed_headers(response, etag, last_modified)
    return response


def _touch(token: FeedToken, now: datetime) -> None:
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        FeedToken.objects.filter(pk=token.pk).update(last_used_at=now)


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A token's feed: what the token's owner may see, narrowed by the token's filters and then
    by the URL's (``?team=payments&kind=freeze``). Unknown or revoked tokens get 404."""
    feed_token = (
        FeedToken.objects.active().for_raw(token).select_related("user").first()
        if len(token) <= 100
        else None
    )
    if feed_token is None or not feed_token.user.is_active:
        raise Http404("No such feed.")
    try:
        query = feed_query(feed_token.user, feed_token.filters, filters_from_params(request.GET))
    except ValidationError as error:
        return _bad_request(error)
    _touch(feed_token, query.now)
    return feed_response(request, query, name=f"Relcal · {feed_token.name}")


@require_safe
def public_feed(request: HttpRequest) -> HttpResponse:
    """The token-less feed of public teams, only when RELCAL_PUBLIC_FEED is on."""
    if not settings.RELCAL_PUBLIC_FEED:
        raise Http404("No public feed here.")
    try:
        query = feed_query(AnonymousUser(), filters_from_params(request.GET))
    except ValidationError as error:
        return _bad_request(error)
    return feed_response(request, query, name="Relcal · public schedule")
