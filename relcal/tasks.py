"""Thin Celery tasks over ``relcal.notify``: they take ids and call the machinery."""

from __future__ import annotations

from celery import shared_task

from . import notify


@shared_task(name="relcal.scan_reminders")
def scan() -> int:
    """Every minute (``relcal.schedules``): create due deliveries and enqueue them."""
    return len(notify.scan())


@shared_task(name="relcal.deliver_reminder")
def deliver(delivery_id: int) -> str:
    return notify.deliver(delivery_id)


@shared_task(name="relcal.deliver_digest")
def deliver_digest(recipient_id: int) -> int:
    return notify.deliver_digest(recipient_id)
