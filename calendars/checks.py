"""``manage.py check``: a feed cache that only one web process would see is reported at start."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

PER_PROCESS = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@checks.register(checks.Tags.caches, deploy=True)
def feed_cache(app_configs=None, **kwargs):
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.RELCAL_FEED_CACHE and backend in PER_PROCESS:
        return [
            checks.Warning(
                "RELCAL_FEED_CACHE is on with a cache each process keeps for itself: a write in "
                "one web or worker process would not reach the feeds' answers kept in another, "
                "which could then answer 304 to a feed that changed.",
                hint="Set CACHE_URL to a Redis database that every process shares.",
                id="calendars.W001",
            )
        ]
    return []
