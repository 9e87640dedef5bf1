"""Every write to incident sources (the on-call tools that send incidents to Relcal's inbound
webhook), for release managers and SRE.

A source's signing secret is what authenticates its deliveries, so it is never written to the
audit trail, the admin's lists or any answer: the audit records that it was set or changed, and
a secret Relcal generates (when none is given) is returned once, on the source as
``new_secret``, for the admin to show once. Give the tool's own secret instead when the tool
generates it (PagerDuty does).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from relcal import audit
from relcal.db import locked as lock_row
from reliability.models import Service

from . import permissions as perms
from .models import IncidentSource, SourceKind

SOURCE_FIELDS = ("name", "slug", "kind", "secret", "default_services")
AUDIT_FIELDS = ("name", "slug", "kind")
MIN_SECRET = 16


def generate_secret() -> str:
    """A new signing secret: 32 random bytes, hex."""
    return secrets.token_hex(32)


def _require_manager(actor) -> None:
    perms.require(
        perms.can_manage_sources(actor),
        "Only release managers and SRE can manage incident sources and their secrets.",
    )


def _check_secret(secret: str) -> None:
    if not isinstance(secret, str) or len(secret.strip()) < MIN_SECRET:
        raise ValidationError(
            {
                "secret": f"A signing secret must be at least {MIN_SECRET} characters long; "
                "leave it empty to have one generated."
            }
        )
    if secret != secret.strip() or len(secret) > 200:
        raise ValidationError(
            {"secret": "A signing secret has no spaces at its ends and at most 200 characters."}
        )


def _snapshot(source: IncidentSource, services: Iterable[Service]) -> dict[str, Any]:
    data = audit.values(source, AUDIT_FIELDS)
    data["default_services"] = sorted(service.slug for service in services)
    return data


@transaction.atomic
def source_create(
    *,
    actor,
    name: str,
    kind: str,
    slug: str = "",
    secret: str = "",
    default_services: Iterable[Service] = (),
) -> IncidentSource:
    """Add a source; without ``secret`` one is generated and returned once as ``new_secret``."""
    _require_manager(actor)
    generated = not secret
    secret = secret or generate_secret()
    _check_secret(secret)
    if kind not in SourceKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(SourceKind.values)}."})
    source = IncidentSource(name=name, slug=slug or slugify(name)[:50], kind=kind, secret=secret)
    source.full_clean()
    source.save()
    services = list(default_services)
    source.default_services.set(services)
    after = _snapshot(source, services)
    after["secret"] = "generated" if generated else "set"
    audit.record(actor=actor, action="incident_source.create", obj=source, after=after)
    source.new_secret = secret if generated else ""
    return source


@transaction.atomic
def source_update(*, actor, source: IncidentSource, **changes: Any) -> IncidentSource:
    """Change a source; ``secret`` empty (or left out) keeps the current one."""
    unknown = set(changes) - set(SOURCE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown incident source fields: {', '.join(sorted(unknown))}")
    _require_manager(actor)
    locked = lock_row(IncidentSource, source.pk)
    current = list(locked.default_services.all())
    before = _snapshot(locked, current)
    secret = changes.pop("secret", "") or ""
    services = changes.pop("default_services", None)
    for field, value in changes.items():
        setattr(locked, field, value)
    if "slug" in changes and not locked.slug:
        locked.slug = slugify(locked.name)[:50]
    if locked.kind not in SourceKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(SourceKind.values)}."})
    secret_changed = bool(secret) and secret != locked.secret
    if secret:
        _check_secret(secret)
        locked.secret = secret
    locked.full_clean()
    locked.save()
    wanted = current if services is None else list(services)
    if {s.pk for s in wanted} != {s.pk for s in current}:
        locked.default_services.set(wanted)
    was, now = audit.changes(before, _snapshot(locked, wanted))
    if secret_changed:
        was["secret"], now["secret"] = "(old)", "changed"
    if now:
        audit.record(
            actor=actor, action="incident_source.update", obj=locked, before=was, after=now
        )
    locked.new_secret = ""
    return locked


@transaction.atomic
def source_new_secret(*, actor, source: IncidentSource) -> IncidentSource:
    """Replace the source's secret with a generated one, returned once as ``new_secret``;
    deliveries signed with the old one are refused from now on."""
    secret = generate_secret()
    updated = source_update(actor=actor, source=source, secret=secret)
    updated.new_secret = secret
    return updated


@transaction.atomic
def source_delete(*, actor, source: IncidentSource) -> None:
    """Remove a source; the incidents it reported stay (without their source)."""
    _require_manager(actor)
    locked = lock_row(IncidentSource, source.pk)
    before = _snapshot(locked, locked.default_services.all())
    # Its incidents forget it: rows incident services lock, so they are changed before the
    # event is recorded (relcal.db).
    audit.delete_and_record(actor=actor, action="incident_source.delete", obj=locked, before=before)
