"""Every write to environments and bookings, as one atomic function per action.

Admin, API, pages and tasks call these; they never save these rows themselves. Keyword-only
arguments, ``actor`` first; refusals are ``ValidationError`` keyed by field,
``PermissionDenied``, or ``relcal.errors.Conflict`` (HTTP 409) when another booking holds the
slot. Split by subject: ``bookings``, ``waitlist``, ``inventory`` (environments, maintenance),
``deployments`` (rollouts, steps, finishes, rollbacks); ``_rules`` holds the checks they share.
"""

from __future__ import annotations

from .bookings import (
    booking_acquire,
    booking_cancel,
    booking_create,
    booking_expire_due,
    booking_extend,
    booking_release,
)
from .deployments import (
    deployment_finish,
    deployment_record,
    deployment_report,
    deployment_rollback,
    deployment_start,
    deployment_step,
)
from .inventory import (
    ENVIRONMENT_FIELDS,
    MAINTENANCE_FIELDS,
    OWNER_FIELDS,
    environment_create,
    environment_delete,
    environment_update,
    maintenance_window_create,
    maintenance_window_delete,
    maintenance_window_update,
)
from .waitlist import promote_waitlist, record_grants, waitlist_join, waitlist_withdraw

__all__ = [
    "ENVIRONMENT_FIELDS",
    "MAINTENANCE_FIELDS",
    "OWNER_FIELDS",
    "booking_acquire",
    "booking_cancel",
    "booking_create",
    "booking_expire_due",
    "booking_extend",
    "booking_release",
    "deployment_finish",
    "deployment_record",
    "deployment_report",
    "deployment_rollback",
    "deployment_start",
    "deployment_step",
    "environment_create",
    "environment_delete",
    "environment_update",
    "maintenance_window_create",
    "maintenance_window_delete",
    "maintenance_window_update",
    "promote_waitlist",
    "record_grants",
    "waitlist_join",
    "waitlist_withdraw",
]
