"""Reminder deliveries on /metrics (``relcal.metrics``): the rows by kind and state, read at
scrape time with one aggregate query, so the figures are the same whichever worker sent."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from relcal import metrics

from .models import Delivery


def collect() -> Iterator[GaugeMetricFamily]:
    deliveries = GaugeMetricFamily(
        "relcal_reminder_deliveries",
        "Reminder deliveries (one reminder to one person or webhook) by kind and state: "
        "pending, sending, sent, failed, skipped.",
        labels=["kind", "state"],
    )
    rows = Delivery.objects.order_by().values_list("kind", "state").annotate(count=Count("pk"))
    for kind, state, count in rows:
        deliveries.add_metric([kind, state], count)
    yield deliveries


def register() -> None:
    metrics.register_collector("reminders", collect)
