"""Environments' events on /metrics (``relcal.metrics``): booking conflicts."""

from __future__ import annotations

from relcal import metrics

from .models import Environment

BOOKING_CONFLICTS = metrics.counter(
    "relcal_booking_conflicts",
    "Bookings and extensions refused because another booking holds the slot (a 409 in the "
    "API), by environment.",
    ["environment"],
)


def booking_conflict(environment: Environment) -> None:
    """Count one conflict; called where the services build the Conflict they raise."""
    BOOKING_CONFLICTS.labels(environment.slug).inc()
