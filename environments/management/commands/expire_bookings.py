"""``manage.py expire_bookings``: what the reminders' periodic task runs, by hand or from cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from environments.services import booking_expire_due


class Command(BaseCommand):
    help = (
        "Expire bookings whose end has passed (their time goes to the waitlist) and mark "
        "started ones active. Prints how many expired."
    )

    def handle(self, *args, **options) -> None:
        expired = booking_expire_due()
        noun = "booking" if expired == 1 else "bookings"
        self.stdout.write(f"Expired {expired} {noun}.")
