"""Shared environments (dev, qa, staging, prod). Booking arrives with the Environments issue."""

from __future__ import annotations

from django.db import models

from releases.models import Team


class EnvironmentKind(models.TextChoices):
    DEV = "dev", "Development"
    TEST = "test", "Test"
    STAGING = "staging", "Staging"
    PROD = "prod", "Production"
    EPHEMERAL = "ephemeral", "Ephemeral"


class Environment(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=20, choices=EnvironmentKind.choices)
    owner_team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="environments"
    )
    url = models.URLField(blank=True)
    description = models.TextField(blank=True, max_length=5_000)
    bookable = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
