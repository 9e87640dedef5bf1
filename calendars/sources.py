"""What a calendar shows, gathered from the domain apps.

Each app that has events puts a ``calendar`` module beside its models (``releases/calendar.py``,
later ``environments/calendar.py``, ``approvals/calendar.py``) with:

- ``KINDS``: ``{kind: label}`` of the events it provides (``"go_live": "Go-live"``);
- ``events(query) -> Iterable[FeedEvent]``: the events ``query.user`` may see that match the
  query, in a fixed number of SQL queries whatever their count;
- ``fingerprint(query) -> Fingerprint``: cheap aggregates (count, max updated_at, sums of
  sequence and ids) over the same rows, from which feeds derive ETag and Last-Modified without
  building a single event, and the next moment at which time alone changes the events
  (``until``; a feed's answer kept in the cache lasts until then or until a write, see
  ``calendars.freshness``).

Nothing registers a source: every installed app's ``calendar`` module is found when the app
registry is ready (``CalendarsConfig.ready``).
Feeds (``calendars.feeds``) and the calendar pages (``calendars.pages``) both read through
``collect`` and ``fingerprint``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import import_module
from types import ModuleType
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from .ical import FeedEvent

# A cancelled release (and what hangs off it) stays in calendars, marked CANCELLED, this long
# after it was cancelled, so that subscribers see that it was called off; then it leaves.
CANCELLED_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class FeedQuery:
    """Who is looking, and at what. ``None`` means "no restriction" on that dimension; each
    dimension narrows only the events that have it (an environment filter leaves releases
    alone). ``start``/``end`` limit events to those overlapping ``[start, end)`` (the calendar
    page's month); feeds leave them open."""

    user: Any
    teams: frozenset[str] | None = None
    environments: frozenset[str] | None = None
    releases: frozenset[int] | None = None
    kinds: frozenset[str] | None = None
    mine: bool = False
    start: datetime | None = None
    end: datetime | None = None
    now: datetime = field(default_factory=lambda: timezone.now())
    # Short CI holds of an environment (``environments.calendar``) only when asked for.
    ci_holds: bool = False
    # Feeds' limits on the past (``feed_query``); the pages, bounded by their month, leave them
    # open. ``since``: shipped releases (with their milestones), freezes and maintenance that
    # ended before it are left out. ``bookings_since``: bookings that ended or were cancelled
    # before it are left out (open: the 30 days of ``CANCELLED_KEPT``).
    since: datetime | None = None
    bookings_since: datetime | None = None

    def wants(self, *kinds: str) -> bool:
        return self.kinds is None or any(kind in self.kinds for kind in kinds)

    @property
    def cancelled_cutoff(self) -> datetime:
        """Releases cancelled before this moment have left the calendars."""
        return self.now - CANCELLED_KEPT

    @property
    def bookings_cutoff(self) -> datetime:
        """Bookings that ended or were cancelled before this moment have left the calendars."""
        return self.bookings_since if self.bookings_since is not None else self.cancelled_cutoff

    def key(self) -> tuple:
        """The filters as a stable, hashable value (part of a feed's ETag)."""

        def norm(values):
            return None if values is None else tuple(sorted(values))

        return (
            norm(self.teams),
            norm(self.environments),
            norm(self.releases),
            norm(self.kinds),
            self.mine,
            self.start,
            self.end,
            self.ci_holds,
        )


@dataclass(frozen=True)
class Fingerprint:
    """What a source's events depend on, cheaply: ``parts`` changes whenever the events would
    (count, sums of ids and sequences, latest modification), ``last_modified`` is the latest
    moment at which they changed (None when there are none)."""

    parts: tuple = ()
    last_modified: datetime | None = None
    # The next moment at which time alone changes the events (an event passing the feed's
    # horizon), or None: a feed's answer kept in the cache (``calendars.freshness``) expires then.
    until: datetime | None = None


def _is_source(module: ModuleType) -> bool:
    return all(hasattr(module, name) for name in ("KINDS", "events", "fingerprint"))


_sources: list[ModuleType] = []


def discover() -> None:
    """Import every installed app's ``calendar`` module that keeps the contract (from
    ``CalendarsConfig.ready``)."""
    found = []
    for config in apps.get_app_configs():
        if config.name.startswith("django.") or not module_has_submodule(config.module, "calendar"):
            continue
        module = import_module(f"{config.name}.calendar")
        if _is_source(module):
            found.append(module)
    _sources[:] = found


def sources() -> tuple[ModuleType, ...]:
    return tuple(_sources)


def kinds() -> dict[str, str]:
    """Every event kind the installed apps provide, ``{kind: label}``, in app order."""
    return {kind: label for source in sources() for kind, label in source.KINDS.items()}


def _wanted(query: FeedQuery) -> list[ModuleType]:
    return [s for s in sources() if query.kinds is None or query.kinds & set(s.KINDS)]


def collect(query: FeedQuery) -> list[FeedEvent]:
    """All matching events, in time order (all-day events first within their day)."""
    events: list[FeedEvent] = []
    for source in _wanted(query):
        events.extend(source.events(query))
    events.sort(key=_sort_key)
    return events


def fingerprint(query: FeedQuery) -> Fingerprint:
    prints = [source.fingerprint(query) for source in _wanted(query)]
    return Fingerprint(
        parts=tuple(p.parts for p in prints),
        last_modified=latest(*(p.last_modified for p in prints)),
        until=earliest(*(p.until for p in prints)),
    )


def _sort_key(event: FeedEvent) -> tuple:
    start = event.start
    if isinstance(start, datetime):
        return (timezone.localdate(start), 1, start, event.kind, event.pk)
    return (start, 0, None, event.kind, event.pk)


def local_days(event: FeedEvent) -> tuple[date, date]:
    """The days ``[first, last]`` an event covers in the current time zone (for day grids)."""
    if isinstance(event.start, datetime):
        first = timezone.localdate(event.start)
        # An end at local midnight does not touch the next day (half-open intervals).
        last = timezone.localdate(event.end - timedelta(microseconds=1))
        return first, max(first, last)
    return event.start, max(event.start, event.end - timedelta(days=1))


def latest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return max(present, default=None)


def earliest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present, default=None)
