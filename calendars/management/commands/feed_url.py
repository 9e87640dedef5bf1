"""``manage.py feed_url USERNAME [--team SLUG ...]``: print a ready calendar subscription URL.

Creates a new feed token for the user each time (tokens are stored hashed, so an existing one
cannot be shown again); the user sees and can revoke it on their profile page.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from calendars import tokens
from calendars.filters import describe


class Command(BaseCommand):
    help = "Create a calendar feed token for USERNAME and print its subscription URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--team", action="append", default=[], metavar="SLUG", help="Repeat for several."
        )
        parser.add_argument(
            "--kind",
            action="append",
            default=[],
            metavar="KIND",
            help="Event kind (go_live, milestone, freeze, …); repeat for several.",
        )
        parser.add_argument(
            "--mine", action="store_true", help="Only releases the user manages or watches."
        )
        parser.add_argument("--name", default="", help="Name shown on the profile page.")
        parser.add_argument(
            "--webcal", action="store_true", help="Print the webcal:// URL (Apple Calendar)."
        )

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["username"]})
        except User.DoesNotExist as error:
            raise CommandError(f"No user “{options['username']}”.") from error
        filters = {"teams": options["team"], "kinds": options["kind"], "mine": options["mine"]}
        name = options["name"] or f"{describe(filters)} (feed_url)"
        try:
            _, raw = tokens.feed_token_create(actor=user, name=name[:100], filters=filters)
        except ValidationError as error:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            raise CommandError(problems) from error
        except PermissionDenied as error:  # an inactive user
            raise CommandError(str(error)) from error
        url = tokens.webcal_url(raw) if options["webcal"] else tokens.feed_url(raw)
        self.stdout.write(url)
