"""Release planning: teams, releases and what hangs off a release.

Writes go through ``releases.services``; the models hold data, database constraints and small
derived properties only.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from relcal.times import validate_time_zone


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    contact = models.EmailField(blank=True, help_text="Where to reach the team, e.g. a list.")
    color = models.CharField(
        max_length=7,
        default="#4f6bed",
        help_text="Hex colour of the team's events on calendars, e.g. #4f6bed.",
    )
    is_private = models.BooleanField(
        "private",
        default=False,
        help_text="Only members, release managers and auditors see a private team's releases "
        "(pages, API and calendar feeds).",
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The zone the team plans in (e.g. America/Los_Angeles): its freezes and "
        "go-lives show in it too. Empty: none, everyone reads their own zone.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReleaseState(models.TextChoices):
    DRAFT = "draft", "Draft"
    PLANNED = "planned", "Planned"
    SCOPE_FROZEN = "scope_frozen", "Scope frozen"
    TESTING = "testing", "Testing"
    APPROVED = "approved", "Approved"
    DEPLOYING = "deploying", "Deploying"
    RELEASED = "released", "Released"
    ROLLED_BACK = "rolled_back", "Rolled back"
    CANCELLED = "cancelled", "Cancelled"


class DeploymentStrategy(models.TextChoices):
    BIG_BANG = "big_bang", "Big bang"
    BLUE_GREEN = "blue_green", "Blue/green"
    CANARY = "canary", "Canary"
    ROLLING = "rolling", "Rolling"


class Release(models.Model):
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="releases")
    description = models.TextField(blank=True, max_length=10_000)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_releases",
        verbose_name="release manager",
    )
    go_live = models.DateTimeField(
        "planned go-live", db_index=True, help_text="When the deployment window opens."
    )
    window_end = models.DateTimeField(
        "deployment window ends", null=True, blank=True, help_text="Leave empty for one hour."
    )
    strategy = models.CharField(
        "deployment strategy",
        max_length=20,
        choices=DeploymentStrategy.choices,
        default=DeploymentStrategy.BIG_BANG,
    )
    rollback_plan = models.TextField(blank=True, max_length=10_000)
    rollback_rehearsed_on = models.DateField("rollback last rehearsed", null=True, blank=True)
    state = models.CharField(
        max_length=20, choices=ReleaseState.choices, default=ReleaseState.DRAFT, db_index=True
    )
    freeze_override_reason = models.TextField(
        blank=True,
        max_length=2_000,
        help_text="Why the go-live may fall inside a freeze window (override permission only).",
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="watched_releases", blank=True
    )
    # iCalendar SEQUENCE: raised by the services on every change a calendar subscriber would
    # notice (name, version, team, times, state), and never on a save that changes nothing.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["go_live", "id"]
        permissions = [
            ("transition_release", "Can move a release through its lifecycle"),
            ("override_freeze", "Can schedule a go-live inside a freeze window"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "version"], name="release_version_unique_per_team"
            ),
            models.CheckConstraint(
                condition=Q(window_end__isnull=True) | Q(window_end__gt=F("go_live")),
                name="release_window_ends_after_go_live",
                violation_error_message="The deployment window must end after the go-live.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("releases:detail", args=[self.pk])

    @property
    def window(self) -> tuple:
        """The deployment window as a half-open interval ``[go_live, end)``."""
        end = self.window_end or self.go_live + timezone.timedelta(hours=1)
        return self.go_live, end

    @property
    def scope_locked(self) -> bool:
        return self.state not in (ReleaseState.DRAFT, ReleaseState.PLANNED)


class ReleaseTransition(models.Model):
    """One step of a release's lifecycle: who moved it, when, from where to where, and why."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=20, choices=ReleaseState.choices)
    to_state = models.CharField(max_length=20, choices=ReleaseState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.TextField(blank=True, max_length=2_000)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.release}: {self.from_state} → {self.to_state}"


class MilestoneKind(models.TextChoices):
    SCOPE_FREEZE = "scope_freeze", "Scope freeze"
    CODE_FREEZE = "code_freeze", "Code freeze"
    RELEASE_CANDIDATE = "release_candidate", "Release candidate"
    GO_NO_GO = "go_no_go", "Go/no-go"
    GO_LIVE = "go_live", "Go-live"
    CUSTOM = "custom", "Custom"


class Milestone(models.Model):
    """A dated step before go-live: all-day (``date``) or at a moment (``at``), never both."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(max_length=20, choices=MilestoneKind.choices)
    title = models.CharField(max_length=200, blank=True, help_text="Required for custom ones.")
    date = models.DateField(null=True, blank=True, help_text="For an all-day milestone.")
    at = models.DateTimeField(null=True, blank=True, help_text="For a milestone at a set time.")
    done = models.BooleanField(default=False)
    sequence = models.PositiveIntegerField(default=0, editable=False)  # see Release.sequence
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(date__isnull=True, at__isnull=False)
                | Q(date__isnull=False, at__isnull=True),
                name="milestone_has_date_or_time",
                violation_error_message="Give either a date (all-day) or a time, not both.",
            ),
        ]
        indexes = [
            # The milestone reminders ask for a range of ``at`` and a few ``date`` values.
            models.Index(fields=["at"], name="milestone_at"),
            models.Index(fields=["date"], name="milestone_date"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.title or self.get_kind_display()

    @property
    def all_day(self) -> bool:
        return self.date is not None

    @property
    def sort_key(self):
        """A comparable moment: all-day milestones sort at the start of their day (UTC)."""
        if self.at is not None:
            return self.at
        return timezone.make_aware(
            timezone.datetime.combine(self.date, timezone.datetime.min.time()),
            timezone.get_current_timezone(),
        )


class ScopeKind(models.TextChoices):
    FEATURE = "feature", "Feature"
    FIX = "fix", "Fix"
    CHORE = "chore", "Chore"
    SECURITY = "security", "Security"


class ScopeItem(models.Model):
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="scope_items")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ScopeKind.choices, default=ScopeKind.FEATURE)
    ticket_key = models.CharField(max_length=50, blank=True, help_text="e.g. PAY-123")
    ticket_url = models.URLField(blank=True, max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scope_items",
    )
    # Progress, set from the tracker or CI by ticket key at any time, also once the scope is
    # frozen: not part of what approvers sign.
    done = models.BooleanField(default=False, help_text="Delivered.")
    blocker = models.BooleanField(
        default=False, help_text="The release may not ship while this item is not done."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.ticket_key} {self.title}".strip()


class DependencyKind(models.TextChoices):
    NEEDS = "needs", "needs shipped first"
    TOGETHER = "together", "ships together with"


class ReleaseDependency(models.Model):
    """``release`` needs ``depends_on`` shipped first, or ships together with it."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="dependencies")
    depends_on = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="dependents")
    kind = models.CharField(max_length=10, choices=DependencyKind.choices)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "release dependencies"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "depends_on"],
                name="dependency_unique_pair",
                violation_error_message="This dependency already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(release=F("depends_on")),
                name="dependency_not_on_itself",
                violation_error_message="A release cannot depend on itself.",
            ),
        ]

    def __str__(self) -> str:
        # A sentence, as messages, the admin and the audit log show it: the kind's label
        # ("needs shipped first") reads right in a picker, not between two release names.
        if self.kind == DependencyKind.NEEDS:
            return f"{self.release} needs {self.depends_on} shipped first"
        return f"{self.release} ships together with {self.depends_on}"


class FreezeOrigin(models.TextChoices):
    MANUAL = "manual", "Set by a release manager"
    ERROR_BUDGET = "error_budget", "Error budget exhausted"


class FreezeWindow(models.Model):
    """A blackout ``[start, end)`` in which no go-live may be scheduled, for all or one team."""

    name = models.CharField(max_length=200)
    reason = models.TextField(blank=True, max_length=2_000)
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="freeze_windows",
        help_text="Leave empty to freeze every team.",
    )
    origin = models.CharField(
        max_length=20,
        choices=FreezeOrigin.choices,
        default="manual",
        editable=False,
        help_text="Error-budget freezes are set and ended by Relcal; the error-budget gate, not "
        "the freeze rules, decides which releases they stop (fixes and security items ship).",
    )
    sequence = models.PositiveIntegerField(default=0, editable=False)  # see Release.sequence
    # A freeze set at short notice is announced when it is set (see releases/reminders.py).
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="freeze_window_ends_after_start",
                violation_error_message="The freeze window must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_label(self) -> str:
        return self.team.name if self.team_id else "all teams"


# The names CI reports checks under: a gate policy requires them, approvals' check reports
# carry them.
CHECK_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"
validate_check_name = RegexValidator(
    CHECK_NAME_PATTERN,
    "Give a check name of lowercase letters, digits, dots, dashes and underscores, "
    "e.g. integration-tests.",
)


class GatePolicy(models.Model):
    """Which gates a team's releases must pass before they deploy; the default policy covers
    teams without one of their own."""

    name = models.CharField(max_length=100, unique=True)
    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="gate_policy"
    )
    is_default = models.BooleanField(default=False)
    required_checks = models.JSONField(
        default=list,
        blank=True,
        help_text='Check names the current candidate must pass, e.g. ["unit-tests", '
        '"integration-tests"].',
    )
    require_booking = models.BooleanField(
        "require the environment booked",
        default=False,
        help_text="The release's team must hold the booking environment for the deployment window.",
    )
    booking_environment = models.SlugField(max_length=50, default="prod")
    rollback_rehearsal_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="The rollback must have been rehearsed within this many days before the "
        "go-live; empty: not required.",
    )
    description = models.TextField(blank=True, max_length=2_000)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "gate policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="gate_policy_one_default",
                violation_error_message="Another gate policy is the default already.",
            ),
        ]

    def __str__(self) -> str:
        return self.name
