"""Who someone is at the identity provider, and the signing tickets its re-authentication gives.

An :class:`Identity` links a Relcal user to the provider's stable subject (``iss`` + ``sub``):
sign-in matches on it and never on the e-mail address alone, which people change and providers
reuse. A :class:`SigningTicket` is the proof of one re-authentication for one signature: issued
after the provider confirmed the signer (``prompt=login``), valid for a few minutes, used once;
only its SHA-256 digest is stored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Identity(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity"
    )
    issuer = models.CharField(max_length=300, help_text="The provider's issuer URL (iss).")
    subject = models.CharField(
        max_length=255, help_text="The provider's stable identifier of the person (sub)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_signin_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="accounts_identity_unique_subject"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer} ({self.subject})"


class SigningTicket(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signing_tickets"
    )
    digest = models.CharField(max_length=64, unique=True)
    auth_time = models.DateTimeField(help_text="When the provider re-authenticated the signer.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_for = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "expires_at"], name="accounts_ticket_user_exp")]

    def __str__(self) -> str:
        return f"Signing ticket of {self.user} from {self.created_at:%Y-%m-%d %H:%M} UTC"


class Preferences(models.Model):
    """One person's settings that are theirs rather than a team's: the time zone pages, forms
    and e-mails use for them. No row (or an empty zone) means "not chosen yet": ``TIME_ZONE``
    until the browser's zone is recorded on the first visit or the person picks one."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="An IANA zone name, e.g. Europe/Berlin; empty for the site's TIME_ZONE.",
    )

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'default zone'}"
