"""Reminder channels and bookkeeping: team webhooks, each person's preferences, and one
``Delivery`` row per reminder sent (or to send).

The tables were created by the ``relcal`` app and keep its label (``relcal_delivery``, the
``relcal.*_webhook`` permissions, ``relcal/migrations``): a model change here is migrated with
``makemigrations relcal``."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from relcal import outbound

from .conf import webhook_allow_private
from .registry import kinds


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


def validate_webhook_url(value: str) -> None:
    if not value.lower().startswith(("https://", "http://")):
        raise ValidationError("Give an http:// or https:// address.")
    try:  # checked again, on the resolved address, each time a message is sent
        outbound.check_url(value, allow_private=webhook_allow_private())
    except outbound.AddressRefused as error:
        raise ValidationError(error.message) from None


def validate_reminder_kinds(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise ValidationError('Give a list of reminder kinds, e.g. ["booking.ending"].')
    unknown = sorted(set(value) - set(kinds()))
    if unknown:
        raise ValidationError(
            f"Unknown reminder kind {unknown[0]!r}; use one of {', '.join(kinds())}."
        )


class WebhookFormat(models.TextChoices):
    SLACK = "slack", "Slack-compatible incoming webhook"
    JSON = "json", "JSON signed with HMAC-SHA256"


class Webhook(models.Model):
    """Where a team's reminders are posted besides email: a chat channel's incoming webhook
    (Slack, Mattermost, Rocket.Chat and Teams workflows accept its ``{"text": …}``) or any
    HTTP endpoint taking signed JSON (``reminders.channels.post_webhook`` documents the headers)."""

    team = models.ForeignKey("releases.Team", on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100, help_text="E.g. “#payments-releases”.")
    url = models.URLField(
        "URL",
        max_length=500,
        validators=[validate_webhook_url],
        help_text="The chat channel's incoming-webhook URL, or your endpoint's.",
    )
    format = models.CharField(
        max_length=10, choices=WebhookFormat.choices, default=WebhookFormat.SLACK
    )
    secret = models.CharField(
        max_length=64,
        default=new_webhook_secret,
        help_text="Signs JSON deliveries (HMAC-SHA256); give it to the receiving end.",
    )
    kinds = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_reminder_kinds],
        help_text="Reminder kinds to post; empty for every kind.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "relcal"
        ordering = ["team__name", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.team})"

    def wants(self, kind: str) -> bool:
        return self.active and (not self.kinds or kind in self.kinds)


class NotificationMode(models.TextChoices):
    IMMEDIATE = "immediate", "Right away"
    DIGEST = "digest", "In my daily digest"
    MUTED = "muted", "Never (muted)"


class NotificationPreference(models.Model):
    """How one person wants one kind of reminder; no row means right away."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=50)
    mode = models.CharField(max_length=10, choices=NotificationMode.choices)

    class Meta:
        app_label = "relcal"
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="preference_once_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.mode}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    DIGEST = "digest", "Email digest"
    WEBHOOK = "webhook", "Webhook"


class Delivery(models.Model):
    """One reminder to one person or one team webhook: the unique key (kind, object, recipient
    or webhook, due) is what makes it go out at most once, however often the scan finds it
    (DESIGN.md invariant 6).

    Rows are created ``pending`` by the scan and claimed by a worker with a conditional update
    (``pending`` → ``sending``) before anything is sent; see ``reminders.delivery``.
    """

    kind = models.CharField(max_length=50)
    object_type = models.CharField(max_length=100, help_text="app_label.model of the subject.")
    object_id = models.BigIntegerField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    due = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # When a pending row may next be tried: ``due`` at first (a digest's: the next digest
    # hour), later than that after a failure.
    next_attempt_at = models.DateTimeField()
    # When a deliver task was last handed to the broker; the scan hands it again if it is lost.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Marks the rows one digest worker claimed together.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "relcal"
        ordering = ["-due", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient__isnull=False, webhook__isnull=True)
                | Q(recipient__isnull=True, webhook__isnull=False),
                name="delivery_to_a_person_or_a_webhook",
            ),
            models.UniqueConstraint(
                fields=["kind", "object_type", "object_id", "recipient", "due"],
                condition=Q(webhook__isnull=True),
                name="delivery_once_per_person",
            ),
            models.UniqueConstraint(
                fields=["kind", "object_type", "object_id", "webhook", "due"],
                condition=Q(recipient__isnull=True),
                name="delivery_once_per_webhook",
            ),
        ]
        indexes = [
            # The scan's questions: pending rows that may be tried now, claims that a killed
            # worker left behind, and a person's digest rows.
            models.Index(fields=["state", "next_attempt_at"], name="delivery_state_next"),
            models.Index(fields=["state", "claimed_at"], name="delivery_state_claimed"),
            models.Index(fields=["claim"], name="delivery_claim"),
        ]

    def __str__(self) -> str:
        to = f"user {self.recipient_id}" if self.recipient_id else f"webhook {self.webhook_id}"
        return f"{self.kind} {self.object_type}#{self.object_id} to {to}"
