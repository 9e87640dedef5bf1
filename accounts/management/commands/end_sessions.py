"""End every session of one person at once: ``manage.py end_sessions alice [--tokens]``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = "Sign a person out everywhere now (audited); --tokens also deletes their API token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--tokens", action="store_true", help="Delete their API token too.")

    def handle(self, *args, username: str, tokens: bool, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        ended = services.sessions_end(actor=None, user=user, tokens=tokens)
        self.stdout.write(f"Ended {ended} session(s) of {username}.")
