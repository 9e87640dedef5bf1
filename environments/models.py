"""Shared environments (dev, qa, staging, prod), their bookings, waitlist, maintenance windows and
the deployments CI reports to them.

Writes go through ``environments.services``. The promise that two holding bookings of one
environment never overlap is kept by the database: on PostgreSQL an exclusion constraint added by
migration 0003 (raw SQL, so that SQLite can migrate the same project), on SQLite the ``IMMEDIATE``
transactions that serialize writers.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from releases.models import DeploymentStrategy, Release, Team


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
    max_booking_minutes = models.PositiveIntegerField(
        "maximum booking length (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Leave empty for no limit.",
    )
    min_notice_minutes = models.PositiveIntegerField(
        "minimum notice (minutes)",
        default=0,
        help_text="How long before its start a booking must be made.",
    )
    max_active_bookings_per_team = models.PositiveIntegerField(
        "maximum current and upcoming bookings per team",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Leave empty for no limit.",
    )
    # Denormalized from the deployment history by ``deployment_report``, so that a list of
    # environments with what runs on them is one query with a join, not one per environment.
    current_deployment = models.ForeignKey(
        "Deployment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeploymentOutcome(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"


class Deployment(models.Model):
    """One rollout of a version (of release X, build Y) to environment Z, usually from CI.

    Pipelines start it, report the steps it reaches (canary 5% → 25% → 100%) and finish it with
    an outcome; a report of a finished deployment in one call is a deployment that started and
    finished at once. A rollback is a deployment too: of the previous version, linked to the one
    it undoes (``rollback_of``). ``deployed_at`` is when it started.
    """

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="deployments"
    )
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="deployments"
    )
    version = models.CharField(max_length=100)
    deployed_at = models.DateTimeField(default=timezone.now)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deployments",
    )
    note = models.TextField(blank=True, max_length=2_000)
    candidate = models.ForeignKey(
        "approvals.ReleaseCandidate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deployments",
        help_text="The build deployed, when known.",
    )
    strategy = models.CharField(
        max_length=20, choices=DeploymentStrategy.choices, default=DeploymentStrategy.BIG_BANG
    )
    planned_steps = models.JSONField(
        default=list,
        blank=True,
        help_text="A canary's or rolling deployment's steps as percentages, e.g. [5, 25, 100].",
    )
    # The steps reached, in order: [{"percent": 5, "at": "2026-11-30T10:00:00Z"}, ...].
    steps = models.JSONField(default=list, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=20, choices=DeploymentOutcome.choices, default=DeploymentOutcome.SUCCEEDED
    )
    # A pipeline's own id for the deployment: a retried start returns the same deployment.
    client_id = models.CharField(
        "client id",
        max_length=100,
        blank=True,
        default="",
        help_text="The pipeline's id for this deployment; a retried report does not duplicate.",
    )
    rollback_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rollbacks",
        help_text="The deployment this one undoes (a rollback).",
    )
    move_release = models.BooleanField(
        "move the release",
        default=True,
        help_text="A production deployment moves its release to released when it succeeds and "
        "to rolled back when it is rolled back; untick to leave the release as it is.",
    )
    hotfix = models.BooleanField(
        default=False,
        help_text="A fix for a change already deployed here: a production hotfix within the "
        "watch window after a deployment marks that deployment as a failed change.",
    )
    # Set when the post-release watch saw a page-level burn after it (reliability's watch).
    degraded_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-deployed_at", "-id"]
        indexes = [
            models.Index(fields=["environment", "-deployed_at"], name="deployment_env_at"),
            models.Index(fields=["release", "-deployed_at"], name="deployment_release_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["environment"],
                condition=Q(outcome="in_progress"),
                name="deployment_one_running_per_environment",
                violation_error_message="Another deployment of this environment is in progress.",
            ),
            models.UniqueConstraint(
                fields=["client_id"],
                condition=~Q(client_id=""),
                name="deployment_client_id_unique",
                violation_error_message="A deployment with this client id exists already.",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(finished_at__gte=F("deployed_at")),
                name="deployment_finishes_after_start",
                violation_error_message="A deployment cannot finish before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(outcome="in_progress", finished_at__isnull=True)
                | (~Q(outcome="in_progress") & Q(finished_at__isnull=False)),
                name="deployment_finished_when_not_running",
                violation_error_message="A finished deployment needs its finish time.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} on {self.environment}"

    @property
    def is_rollback(self) -> bool:
        return self.rollback_of_id is not None


class MaintenanceWindow(models.Model):
    """A time the environment's owners take it out of use: nobody can book it then."""

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Calendar feeds: DTSTAMP/LAST-MODIFIED and SEQUENCE (raised by the services when the
    # times or the reason change, never on a save that changes nothing).
    updated_at = models.DateTimeField(auto_now=True)
    sequence = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="maintenance_ends_after_start",
                violation_error_message="The maintenance window must end after it starts.",
            ),
        ]
        indexes = [
            models.Index(fields=["environment", "end"], name="maintenance_env_end"),
        ]

    def __str__(self) -> str:
        return f"Maintenance of {self.environment}: {self.reason}"


class BookingState(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    ACTIVE = "active", "Active"
    RELEASED_EARLY = "released_early", "Released early"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


# A holding booking occupies its slot; the others are history.
HOLDING = (BookingState.CONFIRMED, BookingState.ACTIVE)


class Booking(models.Model):
    """A team holding an environment for ``[start, end)``: touching bookings do not overlap."""

    # No index of its own: the (environment, start) and (environment, end) indexes cover it.
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="bookings", db_index=False
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="bookings")
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="bookings"
    )
    purpose = models.CharField(max_length=200)
    start = models.DateTimeField()
    end = models.DateTimeField()
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="bookings",
    )
    state = models.CharField(
        max_length=20, choices=BookingState.choices, default=BookingState.CONFIRMED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Calendar feeds send a changed booking again when this moves.
    updated_at = models.DateTimeField(auto_now=True)
    # iCalendar SEQUENCE: raised by the services whenever the times, the state or the purpose
    # change (what a subscriber sees), never on a save that changes nothing.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was released early, cancelled or expired."
    )
    # Taken by a pipeline through acquire (POST /api/v1/environments/<slug>/acquire/): short
    # ones are CI holds, which calendar feeds leave out unless asked for.
    acquired = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="booking_ends_after_start",
                violation_error_message="The booking must end after it starts.",
            ),
        ]
        indexes = [
            # Holding bookings of one environment never overlap, so ordered by start they are
            # ordered by end too: the conflict check and the free-slot walk read one or a few
            # entries of these indexes, however long the history. (Partial indexes on the
            # holding states would be smaller, but SQLite cannot match their condition against
            # a query's bound parameters, and then scans.)
            models.Index(fields=["environment", "end"], name="booking_env_end"),
            models.Index(fields=["environment", "start"], name="booking_env_start"),
            # Expiry looks for holding bookings past their end, across environments.
            models.Index(fields=["state", "end"], name="booking_state_end"),
            # The "starting soon" reminder looks for confirmed bookings by start.
            models.Index(fields=["state", "start"], name="booking_state_start"),
        ]

    def __str__(self) -> str:
        return f"{self.environment} for {self.team}: {self.purpose}"

    @property
    def is_holding(self) -> bool:
        return self.state in HOLDING


class WaitlistState(models.TextChoices):
    WAITING = "waiting", "Waiting"
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class WaitlistEntry(models.Model):
    """A team queueing for a taken slot; the first in line gets it when it frees."""

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="waitlist_entries")
    start = models.DateTimeField()
    end = models.DateTimeField()
    purpose = models.CharField(max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waitlist_entries",
    )
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(
        max_length=20, choices=WaitlistState.choices, default=WaitlistState.WAITING
    )
    granted_booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when the entry becomes a booking; the reminders announce grants from it.
    granted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="waitlist_ends_after_start",
                violation_error_message="The requested slot must end after it starts.",
            ),
        ]
        indexes = [
            models.Index(fields=["environment", "state", "created_at"], name="waitlist_fifo"),
            # The "slot granted" reminder looks for recent grants.
            models.Index(fields=["state", "granted_at"], name="waitlist_state_granted"),
        ]

    def __str__(self) -> str:
        return f"{self.team} waiting for {self.environment}: {self.purpose}"
