"""Database helpers that belong to no domain."""

from __future__ import annotations

import zlib

from django.db import connection


def serialize_writers(key: str) -> None:
    """Make concurrent transactions that pass the same ``key`` run one after another.

    Call inside ``transaction.atomic``; the lock is released at commit or rollback. PostgreSQL
    takes a transaction-scoped advisory lock. SQLite needs nothing: its transactions start
    ``IMMEDIATE`` (see settings), so writers are serialized already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(key.encode())])
