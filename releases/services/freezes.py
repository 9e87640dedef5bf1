"""Freeze windows: periods in which no release may go live unless a reason overrides it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from relcal import audit
from relcal.db import locked
from relcal.errors import Conflict
from relcal.times import require_aware

from .. import permissions as perms
from ..models import (
    FreezeOrigin,
    FreezeWindow,
    Team,
)
from ._common import full_clean, snapshot


def freeze_windows_hit(team: Team, start: datetime, end: datetime) -> list[FreezeWindow]:
    """Freeze windows (for everyone or for ``team``) overlapping ``[start, end)``. Error-budget
    freezes are not among them: the error-budget gate decides what they stop."""
    return list(
        FreezeWindow.objects.filter(Q(team__isnull=True) | Q(team=team))
        .exclude(origin=FreezeOrigin.ERROR_BUDGET)
        .filter(start__lt=end, end__gt=start)
        .select_related("team")
    )


FREEZE_FIELDS = ("name", "reason", "start", "end", "team")


FREEZE_FEED_FIELDS = ("name", "reason", "start", "end", "team_id")  # all shown in calendars


def _validate_freeze(freeze: FreezeWindow) -> None:
    require_aware(start=freeze.start, end=freeze.end)
    if freeze.start and freeze.end and freeze.end <= freeze.start:
        raise ValidationError({"end": "The freeze window must end after it starts."})
    full_clean(freeze)


@transaction.atomic
def freeze_window_create(*, actor, **fields: Any) -> FreezeWindow:
    perms.require(perms.can_manage_freezes(actor), "Only release managers can set freezes.")
    freeze = FreezeWindow(**fields)
    _validate_freeze(freeze)
    freeze.save()
    audit.record(actor=actor, action="freeze_window.create", obj=freeze, after=audit.values(freeze))
    return freeze


def _require_manual(freeze: FreezeWindow) -> None:
    if freeze.origin == FreezeOrigin.ERROR_BUDGET:
        raise Conflict(
            f"“{freeze.name}” is an error-budget freeze: Relcal ends it when the budget is back "
            "above its threshold. An SRE override lets one release pass meanwhile."
        )


@transaction.atomic
def freeze_window_update(*, actor, freeze: FreezeWindow, **changes: Any) -> FreezeWindow:
    perms.require(perms.can_manage_freezes(actor), "Only release managers can set freezes.")
    current = locked(FreezeWindow, freeze.pk)
    _require_manual(current)
    audit_before = audit.values(current, FREEZE_FIELDS)
    before = snapshot(current, FREEZE_FEED_FIELDS)
    for field, value in changes.items():
        if field not in FREEZE_FIELDS:
            raise TypeError(f"Unknown freeze window field: {field}")
        setattr(freeze, field, value)
    _validate_freeze(freeze)
    if snapshot(freeze, FREEZE_FEED_FIELDS) == before:
        return freeze  # nothing changed: keep updated_at and SEQUENCE as they are
    freeze.sequence = current.sequence + 1
    freeze.save()
    audit.record_change(actor, "freeze_window.update", freeze, audit_before, FREEZE_FIELDS)
    return freeze


@transaction.atomic
def freeze_window_delete(*, actor, freeze: FreezeWindow) -> None:
    perms.require(perms.can_manage_freezes(actor), "Only release managers can set freezes.")
    freeze = locked(FreezeWindow, freeze.pk)
    _require_manual(freeze)
    audit.record(
        actor=actor, action="freeze_window.delete", obj=freeze, before=audit.values(freeze)
    )
    freeze.delete()
