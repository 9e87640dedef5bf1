"""What the release services share: the state shorthand, snapshots of stored values, model
validation, and the release lock that row-level services take before they check and write."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from relcal.db import locked

from .. import permissions as perms
from ..models import (
    Milestone,
    Release,
    ReleaseState,
)

S = ReleaseState


def state_label(state: str) -> str:
    return S(state).label


def snapshot(obj, fields: tuple[str, ...]) -> tuple:
    return tuple(getattr(obj, field) for field in fields)


def stored(obj, fields: tuple[str, ...]) -> tuple:
    """The values as stored, not as on ``obj``: callers such as admin forms hand in an instance
    that already carries the new values."""
    return tuple(type(obj).objects.filter(pk=obj.pk).values_list(*fields).get())


def full_clean(obj, exclude: list[str] | None = None) -> None:
    # Model validation covers max lengths, choices and the model's constraints on every path,
    # including SQLite, which would otherwise store an oversized string without complaint.
    obj.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)


def milestone_after_go_live(milestone: Milestone, go_live: datetime) -> bool:
    if milestone.at is not None:
        return milestone.at > go_live
    # An all-day milestone is a date in the planning time zone (TIME_ZONE), not a UTC midnight,
    # and not the editor's own zone: the rule answers the same whoever asks.
    return milestone.date > timezone.localdate(go_live, timezone.get_default_timezone())


def lock_release_for(actor, release: Release, check) -> Release:
    release = locked(Release, release.pk)
    check(actor, release)
    return release


def require_planner(actor, release: Release) -> None:
    perms.require(
        perms.can_edit_release(actor, release),
        "Only release managers and this release's manager can change its plan.",
    )
