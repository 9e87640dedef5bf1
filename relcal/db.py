"""Database helpers that belong to no domain.

Lock order. Every service that writes takes its locks in this one order, so two transactions
never wait for each other in a circle (PostgreSQL would answer "deadlock detected", a 500):

1. the parent row a rule is about, when there is one: the release (``lock_release_for``), the
   environment, the service or SLO;
2. the row being changed or deleted, re-read with ``locked(…)`` (a row a concurrent request
   deleted meanwhile is a 404, never ``DoesNotExist``);
3. named advisory locks (``serialize_writers(key)``) for rules that span rows;
4. the audit chain lock, last: ``audit.record`` takes it as the final write of the transaction.

A service therefore locks what it changes *before* its first audit event, and never locks a row
after recording one.
"""

from __future__ import annotations

import zlib
from typing import TypeVar

from django.db import connection, models
from django.http import Http404

M = TypeVar("M", bound=models.Model)


def serialize_writers(key: str) -> None:
    """Make concurrent transactions that pass the same ``key`` run one after another.

    Call inside ``transaction.atomic``; the lock is released at commit or rollback. PostgreSQL
    takes a transaction-scoped advisory lock. SQLite needs nothing: its transactions start
    ``IMMEDIATE`` (see settings), so writers are serialized already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(key.encode())])


def locked(queryset: type[M] | models.QuerySet[M], pk) -> M:
    """The row ``pk`` of ``queryset`` (a model or a queryset), locked until the end of the
    transaction and read as it is once the lock is granted.

    Call inside ``transaction.atomic``. A row deleted by a concurrent transaction (while this one
    waited for the lock, or before) raises ``Http404`` naming what is gone, which the API and the
    pages answer as 404.
    """
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    obj = queryset.select_for_update(of=("self",)).filter(pk=pk).first()
    if obj is None:
        name = queryset.model._meta.verbose_name
        raise Http404(f"This {name} no longer exists: it was deleted meanwhile.")
    return obj
