"""The audit trail's one write path: ``audit.record(actor=…, action=…, obj=…, before=…, after=…)``.

Every service of every app calls ``record`` inside its own transaction, after validating and
before returning, so that a committed change has exactly one event and a rolled-back one has none
(invariant 5). Apps import this module, never ``approvals``: the event row is the model
``approvals.AuditEvent``, looked up by name.

The trail is a hash chain. Each event carries ``seq`` (1, 2, 3, … without gaps), the previous
event's hash, and ``hash = SHA-256(prev_hash + canonical JSON of the event)``. Appends are
serialized (a transaction-scoped advisory lock on PostgreSQL; SQLite's ``IMMEDIATE``
transactions already let one writer in at a time), so concurrent writers never fork the chain.

The request id and client address of the current request (set by
``relcal.middleware.AuditContextMiddleware``) are read from a context variable, so services do
not have to pass them along.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from relcal.db import serialize_writers

GENESIS = "0" * 64  # the prev_hash of event 1
CHAIN_LOCK = "audit-chain"

# The fields of an event that its hash covers, in the order the canonical JSON lists them
# (sorted keys make the order irrelevant; the tuple documents the set).
HASHED_FIELDS = (
    "seq",
    "timestamp",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "release_id",
    "before",
    "after",
    "request_id",
    "client_address",
)


# --- Where a change comes from ---------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """The request (or task, or command) a change belongs to."""

    request_id: str = ""
    client_address: str = ""
    request: Any = None  # the HttpRequest, whose user acts for writes that name no actor


_origin: ContextVar[Origin | None] = ContextVar("relcal_audit_origin", default=None)


@contextmanager
def origin(
    *, request_id: str = "", client_address: str = "", request: Any = None
) -> Iterator[Origin]:
    """Attribute the events recorded inside the block to a request, task or command."""
    current = Origin(request_id or uuid.uuid4().hex, client_address, request)
    token = _origin.set(current)
    try:
        yield current
    finally:
        _origin.reset(token)


def current_origin() -> Origin:
    return _origin.get() or Origin()


# --- Canonical JSON ---------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON (str, int, bool, None, lists, dicts with str keys), the same
    before storing and after reading back from SQLite or PostgreSQL.

    Floats become strings: PostgreSQL's jsonb would give 1e20 back as an integer, and a hash
    must not depend on the database's number formatting.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=lambda v: (str(type(v)), str(v)))
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return [jsonable(item) for item in value]
    return str(value)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 (not \\u escapes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    # surrogatepass: a lone surrogate in a text field must not make hashing (and so the write
    # it records) fail; it hashes as its own bytes, the same way every time.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """``2026-01-01T09:00:00.000000Z``: UTC, always with microseconds."""
    # isoformat of an aware UTC time ends in "+00:00"; it is several times faster than strftime,
    # which matters when verify_audit formats a million of them.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def event_payload(fields: dict[str, Any]) -> dict[str, Any]:
    """The hashed part of an event, from its column values (as stored or as read back)."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["timestamp"] = format_timestamp(fields["timestamp"])
    return payload


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return sha256(prev_hash + canonical_json(event_payload(fields)))


# --- What changed -----------------------------------------------------------------------------


def values(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The stored-column values of ``obj`` (relations as ids), as JSON, keyed by field name."""
    concrete = {f.name: f for f in obj._meta.concrete_fields}
    names = list(fields) if fields is not None else list(concrete)
    out = {}
    for name in names:
        field = concrete.get(name)
        attname = field.attname if field is not None else name
        out[name] = jsonable(getattr(obj, attname))
    return out


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose value differs, from each side."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


# --- Recording --------------------------------------------------------------------------------


def _event_model():
    return apps.get_model("approvals", "AuditEvent")


def _person(actor) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "system"
    name = actor.get_full_name().strip() if hasattr(actor, "get_full_name") else ""
    return actor.pk, name or actor.get_username()


def _subject(obj: models.Model | None) -> tuple[str, str, str, int | None]:
    if obj is None:
        return "", "", "", None
    opts = obj._meta
    release_id = None
    if opts.label_lower == "releases.release":
        release_id = obj.pk
    elif isinstance(getattr(obj, "release_id", None), int):
        release_id = obj.release_id  # milestones, scope items, sign-offs: filed under a release
    return opts.label_lower, str(obj.pk), str(obj)[:200], release_id


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    release_id: int | None = None,
):
    """Append one event for a change the caller is making in the current transaction.

    ``actor`` None means the change has no person behind it; inside a request the signed-in
    user is recorded then (e.g. a group membership changed through Django's own admin).
    Record a deletion before deleting, while ``obj`` still has its primary key.
    """
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the event and the change could commit separately.
        raise RuntimeError("audit.record() must run inside the transaction of its change.")
    where = current_origin()
    if actor is None and where.request is not None:
        actor = getattr(where.request, "user", None)
    actor_id, actor_name = _person(actor)
    kind, pk, text, release = _subject(obj)
    fields = {
        "timestamp": None,
        "actor_id": actor_id,
        "actor_name": actor_name[:300],
        "action": action,
        "object_type": object_type or kind,
        "object_id": str(object_id or pk),
        "object_repr": (object_repr or text)[:200],
        "release_id": release_id if release_id is not None else release,
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
        "request_id": where.request_id[:64],
        "client_address": where.client_address[:45],
    }
    AuditEvent = _event_model()
    with transaction.atomic(savepoint=False):
        serialize_writers(CHAIN_LOCK)
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        # Taken under the lock, so timestamps never run backwards along the chain.
        fields.update(seq=seq, timestamp=timezone.now())
        event = AuditEvent(**fields, prev_hash=prev_hash, hash=event_hash(prev_hash, fields))
        event.save(force_insert=True)
    return event


def record_change(actor, action: str, obj: models.Model, before: dict, fields) -> None:
    """One event for an update: ``before`` (from ``values`` before the change) against ``obj``
    now, holding only the fields that changed; nothing changed, no event."""
    was, now = changes(before, values(obj, fields))
    if now:
        record(actor=actor, action=action, obj=obj, before=was, after=now)


def delete_and_record(
    *, actor, action: str, obj: models.Model, before: dict[str, Any] | None = None
) -> None:
    """Delete ``obj``, then record ``action`` for it as the transaction's last write.

    Deleting also deletes (or sets to null) the rows that point to ``obj``, each a row lock;
    taken after the audit chain lock, one of them could be held by a transaction waiting for
    that lock: a deadlock (see the lock order in ``relcal.db``). So the rows go first and the
    event, which names ``obj`` by the primary key it had, comes after.
    """
    subject = copy.copy(obj)  # ``delete`` clears the primary key of ``obj`` itself
    obj.delete()
    record(actor=actor, action=action, obj=subject, before=before)


# --- Many-to-many changes recorded by the service that makes them ------------------------------

_quiet: ContextVar[frozenset] = ContextVar("relcal_audit_quiet_m2m", default=frozenset())


@contextmanager
def recorded_by_caller(through: type[models.Model]) -> Iterator[None]:
    """Inside the block, changes of the many-to-many table ``through`` are recorded by the
    caller (one event for a whole ``set()``), not by the generic membership observer."""
    token = _quiet.set(_quiet.get() | {through._meta.label_lower})
    try:
        yield
    finally:
        _quiet.reset(token)


def observed_elsewhere(through: type[models.Model]) -> bool:
    return through._meta.label_lower in _quiet.get()
