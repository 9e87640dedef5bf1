"""Sync the periodic schedules declared in ``relcal.schedules`` into django-celery-beat."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from relcal import schedules


class Command(BaseCommand):
    help = "Create the periodic tasks declared in code in django-celery-beat."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Restore declared values an operator changed."
        )

    def handle(self, *args, reset: bool = False, **options) -> None:
        touched = schedules.sync(reset=reset)
        for name in touched:
            self.stdout.write(f"synced {name}")
        if not touched:
            self.stdout.write("schedules up to date")
