"""Feeds' answers kept in the cache, so that a feed's 304 costs one cache read, not aggregates.

Calendar clients poll; nearly every answer is a 304. Computing a feed's fingerprint
(``sources.fingerprint``) costs a few dozen aggregate queries over every row its events depend
on (the gates of every release deciding, the sign-offs of every release awaiting them): 50-700
ms on a large database. So each feed URL's last answer (ETag, Last-Modified) is remembered in the
Django cache under the *feeds' version*, a number in the same cache that every write which can
change a feed moves on:

- ``post_save``, ``post_delete`` and ``m2m_changed`` of any model of an app that feeds read
  (an app with a ``calendar`` module, an app it names in ``depends_on()``, such as those that
  register readiness gates, and ``auth``: users, groups and permissions decide what a reader may
  see), and of feed tokens;
- an audit event about such a model, which also covers the services' bulk writes that send no
  model signal (``QuerySet.update``, ``bulk_create``): every one of them records one;

but not of a model that sets ``feeds_read = False`` (rows no feed reads, written often: pushed
measurements, SLO snapshots), nor inside ``unseen()`` (a write its caller knows changes nothing
a feed shows: an SLO evaluation that keeps the state and the shown budget).

A conditional request then reads the version and the URL's answer in one round trip (``MGET``)
and, when the answer is current and its client's copy matches, answers 304 without a query. The
version moves when the write happens and again when its transaction commits: a request that read
it in between and computed from the rows as they were before the commit stored its answer under
a version already gone. The version is read before the token and the fingerprint, so an answer is
never stored under a version newer than its rows. An answer also expires on its own at the next
moment at which time alone changes the feed (``Fingerprint.until``: a shipped release or a
booking passing the feed's horizon), and once the token's ``last_used_at`` is due to move (once
an hour), and after a day whatever happens (``LONGEST``: a version move lost while the cache was
unreachable cannot keep a feed stale for longer).

Writes that bypass the models and the audit trail (SQL by hand, ``QuerySet.update`` outside the
services) are not seen until then: run ``calendars.freshness.changed()`` after such a fix.

Only with a cache every web process shares (``CACHE_URL``, Redis): a per-process memory cache
would move the version in one process only. ``RELCAL_FEED_CACHE`` turns it on; it is on when
``CACHE_URL`` is set. A cache that fails is skipped: the feed computes its answer.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import QueryDict

from . import sources
from .models import FeedToken

logger = logging.getLogger(__name__)

# A fingerprint is kept at most this long even when nothing changes: a version move lost while
# the cache was unreachable cannot keep a feed stale for longer.
LONGEST = timedelta(days=1)
AUDIT_EVENT = "approvals.auditevent"


def enabled() -> bool:
    return settings.RELCAL_FEED_CACHE


def _namespace() -> str:
    """Which database the keys are about: two portals sharing one Redis (staging and production,
    or a benchmark's scratch database) must not answer with each other's fingerprints."""
    database = settings.DATABASES["default"]
    where = repr([database.get(name) for name in ("ENGINE", "HOST", "PORT", "NAME")])
    return hashlib.sha256(where.encode()).hexdigest()[:12]


def version_key() -> str:
    return f"relcal:feeds:{_namespace()}:version"


# --- Which writes move the version -----------------------------------------------------------

_watched: frozenset[str] | None = None


def watched_apps() -> frozenset[str]:
    """The labels of the apps whose rows a feed reads (worked out once the apps are ready)."""
    global _watched
    if _watched is None:
        labels = {"auth", get_user_model()._meta.app_label}
        modules = []
        for source in sources.sources():
            modules.append(source.__name__)
            # What else its events read: the readiness gates' apps, for go/no-go verdicts.
            modules += getattr(source, "depends_on", list)()
        for module in modules:
            config = apps.get_containing_app_config(module)
            if config is not None:
                labels.add(config.label)
        _watched = frozenset(labels)
    return _watched


def _feeds_read(sender, instance) -> bool:
    if sender is FeedToken:
        return True  # revoked, renamed, refiltered: its remembered answer must go
    if not getattr(sender, "feeds_read", True):
        return False  # a model that says no feed reads it (frequent writes: measurements)
    meta = sender._meta
    if meta.label_lower == AUDIT_EVENT:
        # "releases.release", "environments.booking", …: what the audited change was about.
        return instance.object_type.partition(".")[0] in watched_apps()
    return meta.app_label in watched_apps()


def _move() -> None:
    try:
        if not cache.add(version_key(), time.time_ns(), timeout=None):
            cache.incr(version_key())
    except Exception:  # any cache failure: the write must go on; LONGEST bounds the staleness
        logger.warning("Could not move the feeds' version in the cache.", exc_info=True)


def changed() -> None:
    """Every cached feed fingerprint is out of date: now, and again when the current
    transaction commits (see the module's docstring)."""
    if not enabled():
        return
    _move()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_move)


_unseen: ContextVar[bool] = ContextVar("relcal_feeds_unseen", default=False)


@contextmanager
def unseen() -> Iterator[None]:
    """Writes inside this block change nothing any feed shows: they keep the feeds' version.
    For frequent writes whose caller knows that, such as an SLO evaluation that leaves its state
    and shown budget as they were (once a minute per SLO: it would otherwise drop every feed's
    remembered answer every minute)."""
    token = _unseen.set(True)
    try:
        yield
    finally:
        _unseen.reset(token)


def _on_write(sender, instance=None, **kwargs) -> None:
    if instance is not None and not _unseen.get() and _feeds_read(sender, instance):
        changed()


def _on_m2m(sender, instance=None, action="", **kwargs) -> None:
    if action.startswith("post_") and not _unseen.get() and _feeds_read(sender, instance):
        changed()


def connect() -> None:
    """Listen to every model's writes (from ``CalendarsConfig.ready``)."""
    post_save.connect(_on_write, dispatch_uid="calendars.freshness.save")
    post_delete.connect(_on_write, dispatch_uid="calendars.freshness.delete")
    m2m_changed.connect(_on_m2m, dispatch_uid="calendars.freshness.m2m")


# --- The remembered answer ----------------------------------------------------------------------


# Part of every answer's key: raise it when ``Entry`` changes, so that a deploy never reads an
# answer kept by the code before it.
ENTRY_FORMAT = 1


@dataclass(frozen=True)
class Entry:
    """What a feed URL answered last: its ETag and Last-Modified, under the version they were
    computed at, until when time alone leaves them (``Fingerprint.until``), and the token's
    ``last_used_at`` as stored then (None for the public feed)."""

    version: int
    etag: str
    last_modified: datetime | None
    until: datetime | None
    touched: datetime | None


class Answer:
    """A feed URL's remembered answer: ``entry`` is what it answered last if nothing has changed
    since (else None), read together with the version in one cache round trip; ``remember``
    stores a new one. ``feed`` names the feed (a token's hash, or "public"), ``config`` what
    else its answer depends on (settings, the format)."""

    def __init__(self, feed: str, params: QueryDict, config: tuple, now: datetime):
        self.entry: Entry | None = None
        self.version: int | None = None
        self.key = ""
        if not enabled():
            return
        what = repr((ENTRY_FORMAT, feed, sorted(params.lists()), config))
        self.key = f"relcal:feeds:{_namespace()}:answer:{hashlib.sha256(what.encode()).hexdigest()}"
        try:
            found = cache.get_many([version_key(), self.key])
            self.version = found.get(version_key())
            if self.version is None:
                cache.add(version_key(), time.time_ns(), timeout=None)
                self.version = cache.get(version_key())
        except Exception:  # any cache failure: the feed computes its answer
            logger.warning("The cache is unreachable: computing the feed's answer.")
            self.key = ""
            return
        entry = found.get(self.key)
        if (
            entry is not None
            and entry.version == self.version
            and (entry.until is None or now < entry.until)
        ):
            self.entry = entry

    def remember(self, entry: Entry, now: datetime) -> None:
        """Keep ``entry`` (its ``version`` ignored: the one read *before* it was computed)."""
        if not self.key or self.version is None:
            return
        timeout = LONGEST if entry.until is None else min(LONGEST, entry.until - now)
        if timeout <= timedelta(0):
            return
        try:
            cache.set(self.key, replace(entry, version=self.version), timeout.total_seconds())
        except Exception:
            logger.warning("The cache is unreachable: the feed's answer is not kept.")
