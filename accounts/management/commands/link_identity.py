"""Link a Relcal account to the provider's subject: ``manage.py link_identity alice <sub>``.

The way out when a first company sign-in is refused because a local account already uses the
e-mail address, or when the provider changed someone's subject."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = "Link a Relcal account to a subject (sub) at the identity provider (audited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("subject")
        parser.add_argument("--issuer", default="", help="Default: RELCAL_OIDC_ISSUER.")

    def handle(self, *args, username: str, subject: str, issuer: str, **options) -> None:
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            services.identity_link(actor=None, user=user, subject=subject, issuer=issuer)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Linked {username} to {subject}.")
