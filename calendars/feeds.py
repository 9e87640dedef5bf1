"""Calendar feeds: ``/feeds/<token>.ics`` and the public feed.

A feed answers conditional requests from a fingerprint (a few aggregate queries, or one cache
read while nothing changed: ``calendars.freshness``) before it builds a single event: calendar
clients poll often and nearly always get 304.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from . import freshness, ical, sources
from .filters import filters_from_params, query_for
from .models import FeedToken, hash_token

PUBLIC = "public"  # the public feed's remembered answer (others': their token's hash)
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


def _not_modified(
    request: HttpRequest, etag: str, last_modified: datetime | None
) -> HttpResponse | None:
    stamp = int(last_modified.timestamp()) if last_modified is not None else None
    not_modified = get_conditional_response(request, etag=etag, last_modified=stamp)
    if not_modified is not None:
        _feed_headers(not_modified, etag, last_modified)
    return not_modified


def _config() -> tuple:
    """What a feed's answer depends on besides its rows: the settings it shows, the format."""
    return (
        settings.SITE_URL,
        settings.RELCAL_FEED_REFRESH_MINUTES,
        feed_description(),
        ical.FORMAT_VERSION,
    )


def remembered(request: HttpRequest, feed: str) -> tuple[freshness.Answer, HttpResponse | None]:
    """The feed's remembered answer (``feed``: a token's hash, or "public"), and a 304 when it
    is current and the client's copy matches it. A token's answer is not used once its
    ``last_used_at`` is due to move: the view notes the use, as for any request."""
    now = timezone.now()
    answer = freshness.Answer(feed, request.GET, _config(), now)
    entry = answer.entry
    if entry is None:
        return answer, None
    if feed != PUBLIC and (entry.touched is None or now - entry.touched > LAST_USED_EVERY):
        return answer, None
    return answer, _not_modified(request, entry.etag, entry.last_modified)


def early_not_modified(request: HttpRequest) -> HttpResponse | None:
    """A 304 for a feed's conditional request from its remembered answer, before the rest of
    the middleware and the view run (``calendars.middleware``), or None to go on as usual."""
    if not freshness.enabled() or request.method not in ("GET", "HEAD"):
        return None
    if not ({"HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE"} & request.META.keys()):
        return None
    if not request.path_info.endswith(".ics"):
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.func is feed and len(match.kwargs["token"]) <= 100:
        answer_of = hash_token(match.kwargs["token"])
    elif match.func is public_feed and settings.RELCAL_PUBLIC_FEED:
        answer_of = PUBLIC
    else:
        return None
    request.resolver_match = match  # for the request metrics, as if the view had run
    return remembered(request, answer_of)[1]


def feed_response(
    request: HttpRequest,
    query: sources.FeedQuery,
    *,
    name: str,
    answer: freshness.Answer | None = None,
    touched: datetime | None = None,
) -> HttpResponse:
    """The iCalendar answer for ``query``, or 304 when the client's copy is current; kept in
    ``answer`` (with the token's ``touched``) for the next conditional request."""
    print_ = sources.fingerprint(query)
    refresh = _refresh()
    description = feed_description()
    etag = ical.etag(name, query.key(), print_.parts, settings.SITE_URL, refresh, description)
    last_modified = print_.last_modified
    if answer is not None:
        entry = freshness.Entry(0, etag, last_modified, print_.until, touched)
        answer.remember(entry, query.now)
    not_modified = _not_modified(request, etag, last_modified)
    if not_modified is not None:
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


def _touch(token: FeedToken, now: datetime) -> datetime:
    """Note that the token was used (at most once an hour); its ``last_used_at`` now."""
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        FeedToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return now
    return token.last_used_at


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A token's feed: what the token's owner may see, narrowed by the token's filters and then
    by the URL's (``?team=payments&kind=freeze``). Unknown or revoked tokens get 404."""
    if len(token) > 100:
        raise Http404("No such feed.")
    # Nothing changed since the last answer (no write, no event past the horizon; the token is
    # as it was, since revoking it moves the version too): no query at all.
    answer, not_modified = remembered(request, hash_token(token))
    if not_modified is not None:
        return not_modified
    feed_token = FeedToken.objects.active().for_raw(token).select_related("user").first()
    if feed_token is None or not feed_token.user.is_active:
        raise Http404("No such feed.")
    try:
        query = feed_query(feed_token.user, feed_token.filters, filters_from_params(request.GET))
    except ValidationError as error:
        return _bad_request(error)
    touched = _touch(feed_token, query.now)
    return feed_response(
        request, query, name=f"Relcal · {feed_token.name}", answer=answer, touched=touched
    )


@require_safe
def public_feed(request: HttpRequest) -> HttpResponse:
    """The token-less feed of public teams, only when RELCAL_PUBLIC_FEED is on."""
    if not settings.RELCAL_PUBLIC_FEED:
        raise Http404("No public feed here.")
    answer, not_modified = remembered(request, PUBLIC)
    if not_modified is not None:
        return not_modified
    try:
        query = feed_query(AnonymousUser(), filters_from_params(request.GET))
    except ValidationError as error:
        return _bad_request(error)
    return feed_response(request, query, name="Relcal · public schedule", answer=answer)
