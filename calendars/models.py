"""The secret tokens of calendar feeds.

The table was created by the ``relcal`` app and keeps its label (``relcal_feedtoken``, the
``relcal.*_feedtoken`` permissions, ``relcal/migrations``): a model change here is migrated with
``makemigrations relcal``."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from .filters import validate_filters


def hash_token(raw: str) -> str:
    """Only this SHA-256 digest is stored: a database leak must not hand out working feed URLs.
    A fast hash is enough because the token itself carries 256 random bits."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_token() -> str:
    return secrets.token_urlsafe(32)  # 32 random bytes = 256 bits, 43 URL-safe characters


class FeedTokenQuerySet(models.QuerySet):
    def active(self) -> FeedTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def for_raw(self, raw: str) -> FeedTokenQuerySet:
        return self.filter(token_hash=hash_token(raw))


class FeedToken(models.Model):
    """The secret in a calendar feed URL (calendar clients cannot log in).

    A feed shows what ``user`` may see, narrowed by ``filters``. Revoking keeps the row (so the
    profile page can show it) and makes the URL answer 404.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_tokens"
    )
    name = models.CharField(max_length=100, help_text="Where you use it, e.g. “Google, work”.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    filters = models.JSONField(default=dict, blank=True, validators=[validate_filters])
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = FeedTokenQuerySet.as_manager()

    class Meta:
        app_label = "relcal"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"),
                name="feed_token_hash_is_sha256_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
