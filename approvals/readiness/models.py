"""The data of release readiness that approvals keeps: the builds (candidates), their check
reports and waivers. They are evidence: services create them and nothing changes them afterwards
(a re-run reports the check again). Each team's gate policy is ``releases.models.GatePolicy``."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from releases.models import Release, validate_check_name

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
COMMIT_PATTERN = r"^[0-9a-f]{7,64}$"

validate_digest = RegexValidator(
    DIGEST_PATTERN, "Give the artifact digest as sha256: followed by 64 lowercase hex digits."
)
validate_commit = RegexValidator(
    COMMIT_PATTERN, "Give the commit as 7 to 64 lowercase hex digits (a git SHA)."
)


class ReleaseCandidate(models.Model):
    """A build that may go live. The newest reported is the release's current candidate; the
    others stay, superseded, as evidence."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="candidates")
    version = models.CharField(max_length=100, help_text="e.g. 4.3.0-rc.2")
    commit_sha = models.CharField("commit", max_length=64, validators=[validate_commit])
    artifact_digest = models.CharField(
        max_length=71,
        validators=[validate_digest],
        help_text="The image or package digest: sha256:<64 hex digits>.",
    )
    build_url = models.URLField("build URL", max_length=500, blank=True)
    # The change set's first and last commits, kept for lead-time metrics.
    first_commit_at = models.DateTimeField(null=True, blank=True)
    last_commit_at = models.DateTimeField(null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField()

    class Meta:
        ordering = ["release", "reported_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "version"],
                name="candidate_version_once_per_release",
                violation_error_message="This release has a candidate with that version already.",
            ),
            models.CheckConstraint(
                condition=Q(artifact_digest__regex=DIGEST_PATTERN),
                name="candidate_digest_is_sha256",
            ),
        ]
        indexes = [models.Index(fields=["release", "-id"], name="candidate_release_newest")]

    def __str__(self) -> str:
        return f"{self.release.name} {self.version}"

    @property
    def short_digest(self) -> str:
        return f"{self.artifact_digest[:11]}…"


class CheckStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    NEUTRAL = "neutral", "Neutral"


class CheckSource(models.TextChoices):
    API = "api", "Reported"
    JUNIT = "junit", "JUnit XML"
    SARIF = "sarif", "SARIF"


class CheckReport(models.Model):
    """One report of one check on one candidate. A re-run reports the same name again: the
    latest report of a name counts, every report stays as evidence."""

    candidate = models.ForeignKey(ReleaseCandidate, on_delete=models.CASCADE, related_name="checks")
    name = models.CharField(max_length=100, validators=[validate_check_name])
    status = models.CharField(max_length=10, choices=CheckStatus.choices)
    url = models.URLField("URL", max_length=500, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    details = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=CheckSource.choices, default=CheckSource.API)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField()

    class Meta:
        ordering = ["candidate", "reported_at", "id"]
        indexes = [
            models.Index(fields=["candidate", "name", "-id"], name="check_latest_by_name"),
            # The failed-check reminders ask for the reports of a time window.
            models.Index(fields=["reported_at"], name="check_report_time"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class Waiver(models.Model):
    """An electronic signature letting one failing gate pass for one candidate. It lapses when
    the candidate changes: it names the candidate, not the release."""

    candidate = models.ForeignKey(
        ReleaseCandidate, on_delete=models.PROTECT, related_name="waivers"
    )
    gate = models.CharField(max_length=50)
    reason = models.TextField(max_length=2_000)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField("printed name", max_length=300)
    signed_at = models.DateTimeField("signed at")

    class Meta:
        ordering = ["signed_at", "id"]
        permissions = [("waive_gate", "Can waive a failing readiness gate for one candidate")]

    def __str__(self) -> str:
        return f"{self.gate} waived for {self.candidate} by {self.signer_name}"
