"""Thin Celery tasks over the scan and delivery: they take ids and call the machinery.

Every task is transaction-aware (``relcal.celery.TransactionAwareTask``): ``delay`` inside a
transaction sends the task once it commits, and a broker that is down is logged, never raised.
"""

from __future__ import annotations

from celery import shared_task

from . import delivery
from . import scan as scanning


@shared_task(name="relcal.scan_reminders")
def scan() -> int:
    """Every minute (``relcal.schedules``): create due deliveries and hand them over."""
    return len(scanning.scan())


@shared_task(name=scanning.DELIVER)
def deliver(delivery_id: int) -> str:
    return delivery.deliver(delivery_id)


@shared_task(name=scanning.DELIVER_DIGEST)
def deliver_digest(recipient_id: int) -> int:
    return delivery.deliver_digest(recipient_id)
