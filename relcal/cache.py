"""Django's Redis cache backend, with one ``redis.Redis`` client per connection pool.

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` for every cache call, and each one
sets up its table of response callbacks (a few hundred entries): about a third of a millisecond
per call, as much as the round trip to Redis itself. Feeds answer their conditional requests
from the cache (``calendars.freshness``), so that is a third of what a 304 costs. A client is
safe to share between threads (it takes a connection from its pool for each command), so one per
pool is enough.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _Client(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client
