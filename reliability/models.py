"""Services, their SLOs and error budgets, the error-budget policy and what enforces it.

A service belongs to a team; a release touches one or more services (none named: its team's).
An SLO reads its SLI from Prometheus or from measurements pushed by another monitoring tool;
``reliability.evaluation`` computes the SLI over the window, the error budget left and the burn
rates, stores them on the SLO (the latest, for pages) and as an ``SLOSnapshot`` (the series the
charts draw), and moves the SLO between states. Writes go through ``reliability.services``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from releases.models import Release, Team


class Service(models.Model):
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    description = models.TextField(blank=True, max_length=2_000)
    # The releases that touch this service; a release naming none touches its team's services.
    releases = models.ManyToManyField(Release, related_name="services", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reliability:service", args=[self.slug])


class SLISource(models.TextChoices):
    PROMETHEUS = "prometheus", "Prometheus"
    PUSHED = "pushed", "Pushed measurements"


class SLOState(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    AT_RISK = "at_risk", "At risk"
    EXHAUSTED = "exhausted", "Exhausted"
    NO_DATA = "no_data", "No data"


class Alert(models.TextChoices):
    """The multiwindow, multi-burn-rate alert of the SRE workbook (chapter 5)."""

    NONE = "", "None"
    TICKET = "ticket", "Ticket (1× over 3 days)"
    PAGE = "page", "Page (14.4× over 1 h and 5 min, or 6× over 6 h and 30 min)"


class SLO(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="slos")
    name = models.CharField(max_length=100, help_text="e.g. availability, latency p99 < 300 ms")
    objective = models.DecimalField(
        "objective (%)",
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("99.9999"))],
        help_text="The share of good events to reach, strictly between 0 and 100, e.g. 99.9.",
    )
    window_days = models.PositiveSmallIntegerField(
        "window (days)",
        default=28,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text="The rolling window the objective is measured over.",
    )
    source = models.CharField(max_length=20, choices=SLISource.choices)
    prometheus_url = models.URLField(
        "Prometheus URL",
        blank=True,
        max_length=500,
        help_text="Leave empty for the server in RELCAL_PROMETHEUS_URL.",
    )
    # PromQL with ``$window`` where the range goes, e.g.
    # sum(rate(http_requests_total{job="api",code!~"5.."}[$window])).
    good_query = models.TextField("good events (PromQL)", blank=True, max_length=4_000)
    total_query = models.TextField("total events (PromQL)", blank=True, max_length=4_000)
    error_ratio_query = models.TextField(
        "error ratio (PromQL)",
        blank=True,
        max_length=4_000,
        help_text="Instead of good and total: an expression of the share of bad events.",
    )
    # The latest evaluation, kept here so that lists and gates read one row per SLO.
    state = models.CharField(
        max_length=20, choices=SLOState.choices, default=SLOState.NO_DATA, editable=False
    )
    alert = models.CharField(
        max_length=10, choices=Alert.choices, default="", blank=True, editable=False
    )
    sli = models.FloatField("SLI", null=True, blank=True, editable=False)
    budget_remaining = models.FloatField(null=True, blank=True, editable=False)
    burn_rates = models.JSONField(default=dict, blank=True, editable=False)
    evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)
    state_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    query_failures = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service__name", "name"]
        verbose_name = "SLO"
        verbose_name_plural = "SLOs"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "name"],
                name="slo_name_unique_per_service",
                violation_error_message="This service has an SLO with that name already.",
            ),
            models.CheckConstraint(
                condition=Q(objective__gt=0, objective__lt=100),
                name="slo_objective_between_0_and_100",
                violation_error_message="The objective must lie strictly between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(window_days__gte=1),
                name="slo_window_at_least_a_day",
                violation_error_message="The window must be at least one day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.name}"


class Measurement(models.Model):
    """Good and total events of one interval ``[start, end)``, pushed by a monitoring tool."""

    # No calendar feed reads these rows (the SLO's stored figures are what gates read): a write
    # keeps feeds' cached answers (calendars.freshness).
    feeds_read = False

    slo = models.ForeignKey(SLO, on_delete=models.CASCADE, related_name="measurements")
    start = models.DateTimeField()
    end = models.DateTimeField()
    good = models.BigIntegerField(validators=[MinValueValidator(0)])
    total = models.BigIntegerField(validators=[MinValueValidator(0)])
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slo", "end"]
        indexes = [models.Index(fields=["slo", "end"], name="measurement_slo_end")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="measurement_ends_after_start",
                violation_error_message="The interval must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(good__gte=0, total__gte=F("good")),
                name="measurement_good_within_total",
                violation_error_message="Good events must be between 0 and the total.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slo}: {self.good}/{self.total}"


class SLOSnapshot(models.Model):
    """One evaluation of an SLO: the series the burn-down chart draws."""

    # No calendar feed reads these rows (the SLO's stored figures are what gates read): a write
    # keeps feeds' cached answers (calendars.freshness).
    feeds_read = False

    slo = models.ForeignKey(SLO, on_delete=models.CASCADE, related_name="snapshots")
    at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=SLOState.choices)
    alert = models.CharField(max_length=10, choices=Alert.choices, default="", blank=True)
    sli = models.FloatField(null=True)
    budget_remaining = models.FloatField(null=True)
    burn_rates = models.JSONField(default=dict)

    class Meta:
        ordering = ["slo", "at"]
        indexes = [models.Index(fields=["slo", "at"], name="snapshot_slo_at")]

    def __str__(self) -> str:
        return f"{self.slo} at {self.at:%Y-%m-%d %H:%M}"


class BudgetAction(models.TextChoices):
    BLOCK = "block", "Block releases except fixes and security items"
    WARN = "warn", "Warn only"


class ErrorBudgetPolicy(models.Model):
    """What happens to a team's releases when one of its services' budget runs out. Teams
    without one follow ``RELCAL_ERROR_BUDGET_POLICY`` (Google's example policy)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="error_budget_policy")
    at_risk_below = models.DecimalField(
        "at risk below (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("25"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="An SLO is at risk when less than this share of its error budget is left; "
        "an error-budget freeze ends when the budget is back above it.",
    )
    when_exhausted = models.CharField(
        max_length=10, choices=BudgetAction.choices, default=BudgetAction.BLOCK
    )
    freeze = models.BooleanField(
        "freeze the calendar",
        default=True,
        help_text="Put an error-budget freeze window on the calendar while the budget is spent.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "error-budget policies"

    def __str__(self) -> str:
        return f"Error-budget policy of {self.team}"


class BudgetFreeze(models.Model):
    """The freeze window Relcal put on the calendar while an SLO's budget was exhausted."""

    slo = models.ForeignKey(SLO, on_delete=models.CASCADE, related_name="freezes")
    freeze = models.OneToOneField(
        "releases.FreezeWindow", on_delete=models.CASCADE, related_name="budget_freeze"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slo"],
                condition=Q(ended_at__isnull=True),
                name="budget_freeze_one_open_per_slo",
            ),
        ]

    def __str__(self) -> str:
        return f"Error-budget freeze of {self.slo}"


class BudgetOverride(models.Model):
    """An SRE's electronic signature letting one release pass the error-budget gate."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="budget_overrides")
    reason = models.TextField(max_length=2_000)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField("printed name", max_length=300)
    signed_at = models.DateTimeField("signed at")

    class Meta:
        ordering = ["signed_at", "id"]
        permissions = [("override_error_budget", "Can let one release pass the error-budget gate")]

    def __str__(self) -> str:
        return f"Error-budget gate overridden for {self.release} by {self.signer_name}"


class WatchState(models.TextChoices):
    WATCHING = "watching", "Watching"
    CLEAN = "clean", "Clean"
    DEGRADED = "degraded", "Degraded"


class DeploymentWatch(models.Model):
    """The post-release watch of a production deployment: the touched services' SLOs, from the
    deployment's finish until ``until``; degraded at the first page-level burn."""

    deployment = models.OneToOneField(
        "environments.Deployment", on_delete=models.CASCADE, related_name="watch"
    )
    started_at = models.DateTimeField()
    until = models.DateTimeField()
    state = models.CharField(max_length=10, choices=WatchState.choices, default=WatchState.WATCHING)
    degraded_at = models.DateTimeField(null=True, blank=True)
    # What was seen: per SLO its name, budget left and burn rates at the worst moment.
    figures = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["state", "until"], name="watch_state_until")]

    def __str__(self) -> str:
        return f"Watch of {self.deployment}"
