"""Delivery: incidents linked to the changes that caused them, and the facts the four DORA keys
are computed from.

``ProductionChange`` is one row per production deployment that succeeded (not a rollback): the
fact table of the DORA keys, denormalized (team, finish time, lead time, failed or not, and the
services it touched in ``ChangeService``) so that every key is an indexed aggregate query,
whatever the number of rows. It is written by ``delivery.changes`` when a deployment finishes
and kept current when a rollback, a hotfix or an incident marks the change as failed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from releases.models import Release, Team


class SourceKind(models.TextChoices):
    PAGERDUTY = "pagerduty", "PagerDuty (webhook v3)"
    GENERIC = "generic", "Generic JSON"


class IncidentSource(models.Model):
    """An on-call tool that sends incidents to Relcal's inbound webhook, signed with its own
    secret (HMAC-SHA256 of the raw body)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    secret = models.CharField(
        max_length=200, help_text="The signing secret the tool signs each delivery with."
    )
    # Incidents from a source that names no known service are filed under these.
    default_services = models.ManyToManyField("reliability.Service", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1 (critical)"
    SEV2 = "sev2", "SEV2 (major)"
    SEV3 = "sev3", "SEV3 (minor)"
    SEV4 = "sev4", "SEV4 (low)"


class Incident(models.Model):
    title = models.CharField(max_length=300)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.SEV3)
    services = models.ManyToManyField("reliability.Service", related_name="incidents")
    opened_at = models.DateTimeField(db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField("link", max_length=500, blank=True, help_text="Where it lives.")
    source = models.ForeignKey(
        IncidentSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    # The tool's id for the incident: a repeated report updates it instead of adding one.
    external_id = models.CharField(max_length=200, blank=True, default="")
    # What caused it, when known (set at creation or later).
    deployment = models.ForeignKey(
        "environments.Deployment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("opened_at")),
                name="incident_resolved_after_opened",
                violation_error_message="An incident cannot be resolved before it was opened.",
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="incident_external_id_unique_per_source",
                violation_error_message="An incident with this external id exists already.",
            ),
        ]
        indexes = [
            models.Index(fields=["deployment"], name="incident_deployment"),
            models.Index(fields=["opened_at", "resolved_at"], name="incident_open_resolved"),
        ]

    def __str__(self) -> str:
        return self.title


class FailureCause(models.TextChoices):
    NONE = "", "None"
    INCIDENT = "incident", "Caused an incident"
    ROLLED_BACK = "rolled_back", "Rolled back"
    HOTFIX = "hotfix", "Hot-fixed"


class ProductionChange(models.Model):
    """One production deployment that succeeded: the fact the DORA keys count."""

    deployment = models.OneToOneField(
        "environments.Deployment", on_delete=models.CASCADE, related_name="change"
    )
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    finished_at = models.DateTimeField()
    first_commit_at = models.DateTimeField(null=True, blank=True)
    lead_time_seconds = models.BigIntegerField(null=True, blank=True)
    failed = models.BooleanField(default=False)
    failure = models.CharField(max_length=20, choices=FailureCause.choices, default="", blank=True)

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [
            models.Index(fields=["team", "finished_at"], name="change_team_finished"),
            models.Index(fields=["finished_at"], name="change_finished"),
        ]

    def __str__(self) -> str:
        return f"Change {self.deployment_id} of {self.team} at {self.finished_at:%Y-%m-%d %H:%M}"


class ChangeService(models.Model):
    """A service a production change touched, with the change's facts copied so that the keys
    per service are one indexed aggregate too."""

    change = models.ForeignKey(ProductionChange, on_delete=models.CASCADE, related_name="touched")
    service = models.ForeignKey("reliability.Service", on_delete=models.CASCADE, related_name="+")
    finished_at = models.DateTimeField()
    lead_time_seconds = models.BigIntegerField(null=True, blank=True)
    failed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["change", "service"], name="change_service_once")
        ]
        indexes = [
            models.Index(fields=["service", "finished_at"], name="change_service_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.change} touched service {self.service_id}"
