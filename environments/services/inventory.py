"""Environments themselves: inventory, booking rules and maintenance windows (deployments:
``deployments``)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from relcal import audit
from relcal.db import locked
from relcal.times import require_aware

from .. import permissions as perms
from .. import selectors
from ..models import HOLDING, Environment, MaintenanceWindow
from . import _rules as rules
from .waitlist import promote_waitlist, record_grants

# What the owning team may change (rules and how to reach it) ...
OWNER_FIELDS = (
    "bookable",
    "max_booking_minutes",
    "min_notice_minutes",
    "max_active_bookings_per_team",
    "url",
    "description",
)
# ... and what only release managers may (what the environment is, and whose).
ENVIRONMENT_FIELDS = ("name", "slug", "kind", "owner_team", *OWNER_FIELDS)


# Rules in minutes beyond a year are typos, and far beyond they overflow datetime arithmetic
# (SQLite stores integers up to 2**63, which no timedelta can hold).
LONGEST_RULE_MINUTES = 366 * 24 * 60


def _validate_environment(environment: Environment) -> None:
    environment.full_clean(validate_unique=True, validate_constraints=True)
    for name in ("max_booking_minutes", "min_notice_minutes"):
        value = getattr(environment, name)
        if value is not None and value > LONGEST_RULE_MINUTES:
            raise ValidationError({name: f"At most {LONGEST_RULE_MINUTES} minutes (a year)."})


@transaction.atomic
def environment_create(*, actor, **fields: Any) -> Environment:
    perms.require(
        perms.can_create_environment(actor), "Only release managers can add environments."
    )
    unknown = set(fields) - set(ENVIRONMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown environment fields: {', '.join(sorted(unknown))}")
    environment = Environment(**fields)
    _validate_environment(environment)
    environment.save()
    rules.record_created(actor, "environment.create", environment, ENVIRONMENT_FIELDS)
    return environment


@transaction.atomic
def environment_update(*, actor, environment: Environment, **changes: Any) -> Environment:
    """Change an environment; its owners may change its booking rules, URL and description.

    New rules apply to bookings made from now on; existing bookings stay as they are.
    """
    environment = locked(Environment, environment.pk)
    unknown = set(changes) - set(ENVIRONMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown environment fields: {', '.join(sorted(unknown))}")
    if set(changes) - set(OWNER_FIELDS):
        perms.require(
            perms.can_create_environment(actor),
            "Only release managers can rename an environment or change its kind or owners.",
        )
    else:
        perms.require(
            perms.can_manage_environment(actor, environment),
            f"Only the owners of {environment} and release managers can change its rules.",
        )
    before = audit.values(environment, ENVIRONMENT_FIELDS)
    for field, value in changes.items():
        setattr(environment, field, value)
    _validate_environment(environment)
    environment.save()
    audit.record_change(actor, "environment.update", environment, before, ENVIRONMENT_FIELDS)
    return environment


@transaction.atomic
def environment_delete(*, actor, environment: Environment) -> None:
    perms.require(
        perms.can_create_environment(actor), "Only release managers can remove environments."
    )
    environment = locked(Environment, environment.pk)
    upcoming = environment.bookings.filter(state__in=HOLDING, end__gt=timezone.now()).count()
    if upcoming:
        raise ValidationError(
            {
                "environment": f"{environment} has {upcoming} current or upcoming bookings; "
                "cancel them first."
            }
        )
    # Its past bookings, waitlist, deployments and maintenance go with it: rows other services
    # lock, so they are deleted before the event is recorded (relcal.db).
    audit.delete_and_record(
        actor=actor,
        action="environment.delete",
        obj=environment,
        before=audit.values(environment, ENVIRONMENT_FIELDS),
    )


# --- Maintenance windows ---------------------------------------------------------------------

MAINTENANCE_FIELDS = ("start", "end", "reason")
MAINTENANCE_AUDIT = ("environment", *MAINTENANCE_FIELDS)


def _validate_maintenance(window: MaintenanceWindow, *, now: datetime) -> None:
    require_aware(start=window.start, end=window.end)
    window.start, window.end = rules.utc(window.start), rules.utc(window.end)
    if window.end <= window.start:
        raise ValidationError({"end": "The maintenance window must end after it starts."})
    if window.end <= now:
        raise ValidationError({"end": "This maintenance window would be over already."})
    rules.full_clean(window)
    # Taking the environment away from a team is a decision: cancel their booking first.
    holder = selectors.holder(window.environment, window.start, window.end)
    if holder is not None:
        raise ValidationError(
            {"start": f"{rules.held_by(holder)}; cancel that booking first or pick another time."}
        )


def _require_owner(actor, environment: Environment) -> None:
    perms.require(
        perms.can_manage_environment(actor, environment),
        f"Only the owners of {environment} and release managers can schedule its maintenance.",
    )


@transaction.atomic
def maintenance_window_create(
    *, actor, environment: Environment, start: datetime, end: datetime, reason: str
) -> MaintenanceWindow:
    _require_owner(actor, environment)
    window = MaintenanceWindow(
        environment=environment, start=start, end=end, reason=reason, created_by=actor
    )
    _validate_maintenance(window, now=timezone.now())
    window.save()
    rules.record_created(actor, "maintenance.create", window, MAINTENANCE_AUDIT)
    return window


@transaction.atomic
def maintenance_window_update(
    *, actor, window: MaintenanceWindow, **changes: Any
) -> MaintenanceWindow:
    window = locked(MaintenanceWindow.objects.select_related("environment"), window.pk)
    _require_owner(actor, window.environment)
    unknown = set(changes) - set(MAINTENANCE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown maintenance window fields: {', '.join(sorted(unknown))}")
    before = audit.values(window, MAINTENANCE_AUDIT)
    for field, value in changes.items():
        setattr(window, field, value)
    now = timezone.now()
    _validate_maintenance(window, now=now)
    if audit.values(window, MAINTENANCE_AUDIT) == before:
        return window  # nothing changes: calendars must not see a change (SEQUENCE, DTSTAMP)
    window.sequence += 1  # every field shows in the window's calendar event
    window.save()
    granted = promote_waitlist(window.environment, now=now)  # before recording: relcal.db
    audit.record_change(actor, "maintenance.update", window, before, MAINTENANCE_AUDIT)
    record_grants(granted)
    return window


@transaction.atomic
def maintenance_window_delete(*, actor, window: MaintenanceWindow) -> None:
    window = locked(MaintenanceWindow.objects.select_related("environment"), window.pk)
    _require_owner(actor, window.environment)
    before = audit.values(window, MAINTENANCE_AUDIT)
    subject = copy.copy(window)  # ``delete`` clears the primary key of ``window``
    window.delete()
    # The freed time goes to the waitlist before anything is recorded (relcal.db).
    granted = promote_waitlist(subject.environment)
    audit.record(actor=actor, action="maintenance.delete", obj=subject, before=before)
    record_grants(granted)
