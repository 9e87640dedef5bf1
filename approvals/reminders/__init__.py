"""Approvals' reminder kinds, found by ``reminders.registry.autodiscover``: sign-offs
(``signoffs``: pending, asked again, escalation) and readiness (``readiness``: a required check
failed, still NO-GO a day before the go/no-go). Delivery is ``reminders``'s business."""

from . import readiness, signoffs  # noqa: F401  (each registers its kinds)
