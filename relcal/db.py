"""Database helpers that belong to no domain.

Lock order. Every service that writes takes its locks in this one order, so two transactions
never wait for each other in a circle (PostgreSQL would answer "deadlock detected", a 500):

1. the parent rows a rule is about, outermost first: the environment, then the release
   (``lock_release_for``); the service, then the SLO; the approval policy, then its
   requirement;
2. the row being changed or deleted, re-read with ``locked(…)`` (a row a concurrent request
   deleted meanwhile is a 404, never ``DoesNotExist``); a second row of the same kind (the
   deployment a rollback undoes) after the first;
3. named advisory locks (``serialize_writers(key)``) for rules that span rows;
4. the other rows the change writes: rows a delete cascades to or sets to null
   (``audit.delete_and_record`` deletes before it records), bookings granted from the waitlist
   (``promote_waitlist`` grants before anything is recorded);
5. the audit chain lock, last: ``audit.record`` takes it and holds it until the commit.

So a transaction that has recorded an event waits for no other lock: it locks everything it
changes *before* its first audit event. The one kind of row written after recording is the
derived kind every writer touches only after recording (a production change's failure flags),
which the audit chain lock itself serializes. A service that calls another service (a deployment
moving its release) takes the callee's locks first, in this order, so the callee only re-enters
them.
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
    return reread(queryset.select_for_update(of=("self",)), pk)


def reread(queryset: models.QuerySet[M], pk) -> M:
    """The row ``pk`` of ``queryset`` as stored now, e.g. an answer read again after the
    service's commit; one a concurrent request deleted since is a 404 (``Http404``), never
    ``DoesNotExist``."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        name = queryset.model._meta.verbose_name
        raise Http404(f"This {name} no longer exists: it was deleted meanwhile.")
    return obj
