"""``manage.py record_changes``: record the production changes deployed before the delivery
metrics existed (or missed), and recompute every change's failure. Safe to run again."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from delivery import changes
from delivery.models import ProductionChange


class Command(BaseCommand):
    help = (
        "Record every successful production deployment (not a rollback) that has no production "
        "change yet, then recompute which changes failed (incidents, rollbacks, hotfixes). "
        "Run once after upgrading; running it again adds nothing."
    )

    def handle(self, *args, **options) -> None:
        added = changes.backfill()
        failed = ProductionChange.objects.filter(failed=True).count()
        total = ProductionChange.objects.count()
        self.stdout.write(
            f"Recorded {added} production change{'s' if added != 1 else ''}; "
            f"{total} in all, {failed} failed."
        )
