"""Environment events for calendars and feeds: bookings and maintenance windows (see
``calendars.sources`` for the contract every app's calendar module keeps).

Bookings are shown to everyone signed in, as the environment pages show them (a slot is taken,
whoever took it), but the release a booking names follows the releases' own visibility, and
a private team's booking names neither the team nor its purpose (``environments.privacy``). A
booking stays in feeds for ``RELCAL_FEED_BOOKING_HOURS`` (48) after it ended or was cancelled
(a cancelled one as CANCELLED, like a cancelled release), long enough for a client polling daily
to see the cancellation, then leaves; the calendar pages, bounded by their month, keep it for
30 days. CI books environments many times a day: bookings a pipeline acquired for less than
``RELCAL_FEED_CI_HOLD_MINUTES`` (120) are CI holds, left out unless the query asks for them
(``ci_holds``). Maintenance windows stay until they are past the feed's horizon.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse

from calendars.ical import CANCELLED, CONFIRMED, FeedEvent
from calendars.sources import FeedQuery, Fingerprint, earliest, latest
from releases.calendar import release_label
from releases.models import Release, Team
from releases.selectors import visible_release_q, visible_teams

from . import privacy
from .models import Booking, BookingState, MaintenanceWindow
from .selectors import with_release_visibility

BOOKING = "booking"
MAINTENANCE = "maintenance"
KINDS = {BOOKING: "Environment booking", MAINTENANCE: "Maintenance"}

# Plain dict: get_FOO_display() costs a translation lookup per call, thousands of times a feed.
STATE_LABELS = {value: str(label) for value, label in BookingState.choices}


def _signed_in(user) -> bool:
    # Environments are an internal matter: the token-less public feed shows none of them.
    return bool(getattr(user, "is_authenticated", False))


# --- Which rows -------------------------------------------------------------------------------


def _kept(query: FeedQuery) -> Q:
    """Bookings still in calendars: not ended (or cancelled) before ``query.bookings_cutoff``.
    A booking never ends after its ``end`` (``ended_at <= end``), so the ``end`` condition, which
    an index serves, only narrows the rows the ``ended_at`` one reads."""
    cutoff = query.bookings_cutoff
    return Q(end__gte=cutoff) & (Q(ended_at__isnull=True) | Q(ended_at__gte=cutoff))


def _bookings(query: FeedQuery) -> QuerySet[Booking]:
    """Every booking the query selects, whatever its age (``_kept`` then drops the old ones)."""
    user = query.user
    if not _signed_in(user):
        return Booking.objects.none()
    bookings = Booking.objects.all()
    if query.teams is not None:
        # Only teams the user may see: a filter must not tell which slots a private team holds.
        teams = visible_teams(user).filter(slug__in=query.teams)
        bookings = bookings.filter(team__in=teams.values("pk"))
    if query.environments is not None:
        bookings = bookings.filter(environment__slug__in=query.environments)
    if query.releases is not None:
        # Only releases the user may see: a filter must not reveal which bookings a private
        # release has.
        releases = Release.objects.filter(visible_release_q(user), pk__in=query.releases)
        bookings = bookings.filter(release__in=releases.values("pk"))
    if query.mine:
        # The personal feed: the bookings of the user's teams.
        bookings = bookings.filter(team__in=Team.objects.filter(members=user).values("pk"))
    if query.start is not None:
        bookings = bookings.filter(end__gt=query.start)
    if query.end is not None:
        bookings = bookings.filter(start__lt=query.end)
    shortest = settings.RELCAL_FEED_CI_HOLD_MINUTES
    if not query.ci_holds and shortest > 0:
        # A CI hold: acquired by a pipeline, for less than the setting. A person's short booking
        # made on the page or with POST /api/v1/bookings/ stays.
        bookings = bookings.exclude(acquired=True, end__lt=F("start") + timedelta(minutes=shortest))
    return bookings


def _maintenance(query: FeedQuery) -> QuerySet[MaintenanceWindow]:
    # Maintenance belongs to no team and no release: it concerns every team that uses the
    # environment, so a team filter keeps it, while a feed of chosen releases or of "my
    # releases" leaves it out (as freezes do).
    if not _signed_in(query.user) or query.releases is not None or query.mine:
        return MaintenanceWindow.objects.none()
    windows = MaintenanceWindow.objects.all()
    if query.environments is not None:
        windows = windows.filter(environment__slug__in=query.environments)
    if query.start is not None:
        windows = windows.filter(end__gt=query.start)
    if query.end is not None:
        windows = windows.filter(start__lt=query.end)
    if query.since is not None:
        windows = windows.filter(end__gte=query.since)
    return windows


# --- Fingerprint (for ETag and Last-Modified, without building events) -------------------------


def fingerprint(query: FeedQuery) -> Fingerprint:
    parts: list = []
    moments: list[datetime | None] = []
    until: list[datetime | None] = []
    if query.wants(BOOKING):
        cutoff = query.bookings_cutoff
        stay = query.now - cutoff
        kept = _kept(query)
        dropped = Q(end__lt=cutoff) | Q(ended_at__lt=cutoff)
        # One aggregate over the bookings kept and those dropped within one more stay (older
        # drops are older than any copy a client still revalidates by date).
        row = (
            _bookings(query)
            .filter(end__gte=cutoff - stay)
            .aggregate(
                count=Count("pk", filter=kept),
                ids=Sum("pk", filter=kept),
                sequence=Sum("sequence", filter=kept),
                updated=Max("updated_at", filter=kept),
                # The event shows the team's, the environment's and the release's names too.
                # (Aliases must not be relation names: ``release`` would shadow the join.)
                team_at=Max("team__updated_at", filter=kept),
                environment_at=Max("environment__updated_at", filter=kept),
                release_at=Max("release__updated_at", filter=kept),
                named=Count("pk", filter=kept & visible_release_q(query.user, "release__")),
                dropped=Max(Coalesce("ended_at", "end"), filter=dropped),
                # The next to leave: when time alone changes the feed (``until``).
                leaving=Min(Coalesce("ended_at", "end"), filter=kept),
            )
        )
        # A booking leaving the calendar after it ended is a change too.
        left_at = row["dropped"] + stay if row["dropped"] else None
        until.append(row["leaving"] + stay if row["leaving"] else None)
        parts.append(tuple(row.values()))
        moments += [row["updated"], row["team_at"], row["environment_at"], row["release_at"]]
        moments.append(left_at)
    if query.wants(MAINTENANCE):
        row = _maintenance(query).aggregate(
            count=Count("pk"),
            ids=Sum("pk"),
            sequence=Sum("sequence"),
            updated=Max("updated_at"),
            environment_at=Max("environment__updated_at"),
            # Maintenance leaves past the feed's horizon: when time alone changes the feed.
            leaving=Min("end"),
        )
        parts.append(tuple(row.values()))
        moments += [row["updated"], row["environment_at"]]
        if query.since is not None and row["leaving"] is not None:
            until.append(row["leaving"] + (query.now - query.since))
    return Fingerprint(parts=tuple(parts), last_modified=latest(*moments), until=earliest(*until))


# --- Events -----------------------------------------------------------------------------------


class _Paths(dict):
    """``slug -> environment page path``: ``reverse()`` once per environment, not per event."""

    def __missing__(self, slug: str) -> str:
        path = self[slug] = reverse("environments:detail", args=[slug])
        return path


def booking_event(booking: Booking, paths: _Paths | None = None) -> FeedEvent:
    environment, team = booking.environment, booking.team
    cancelled = booking.state == BookingState.CANCELLED
    summary = f"{environment.name} — {team.name}: {booking.purpose}"
    url = (paths if paths is not None else _Paths())[environment.slug]
    lines = [f"{environment.name} booked by {team.name}", f"State: {STATE_LABELS[booking.state]}"]
    # ``release_visible`` is annotated by ``with_release_visibility``; without it, name nothing.
    if booking.release_id and getattr(booking, "release_visible", False):
        lines.append(f"Release: {release_label(booking.release)}")
    lines += ["", f"Environment: {settings.SITE_URL}{url}"]
    return FeedEvent(
        kind=BOOKING,
        pk=booking.pk,
        summary=f"Cancelled: {summary}" if cancelled else summary,
        start=booking.start,
        end=booking.end,
        updated=max(booking.updated_at, environment.updated_at),
        sequence=booking.sequence,
        status=CANCELLED if cancelled else CONFIRMED,
        description="\n".join(lines),
        path=url,
        team=team.name,
        team_slug=team.slug,
        color=team.color,
        categories=(team.name, KINDS[BOOKING]),
    )


def maintenance_event(window: MaintenanceWindow, paths: _Paths | None = None) -> FeedEvent:
    environment = window.environment
    url = (paths if paths is not None else _Paths())[environment.slug]
    return FeedEvent(
        kind=MAINTENANCE,
        pk=window.pk,
        summary=f"{environment.name} — maintenance: {window.reason}",
        start=window.start,
        end=window.end,
        updated=max(window.updated_at, environment.updated_at),
        sequence=window.sequence,
        status=CONFIRMED,
        description="\n".join(
            [
                f"{environment.name} is under maintenance: nobody can book it in this window.",
                "",
                window.reason,
                "",
                f"Environment: {settings.SITE_URL}{url}",
            ]
        ),
        path=url,
        categories=(environment.name, KINDS[MAINTENANCE]),
    )


def events(query: FeedQuery) -> Iterator[FeedEvent]:
    paths = _Paths()
    if query.wants(BOOKING):
        bookings = with_release_visibility(
            _bookings(query).filter(_kept(query)), query.user
        ).select_related("environment", "team", "release__team")
        # Row by row: a feed holds its events, not also every model instance behind them.
        for booking in bookings.iterator(chunk_size=2_000):
            # A private team's booking: the slot is taken, by "a private team" (privacy.py).
            privacy.conceal(query.user, [booking])
            yield booking_event(booking, paths)
    if query.wants(MAINTENANCE):
        for window in _maintenance(query).select_related("environment"):
            yield maintenance_event(window, paths)
