"""Approvals: who must sign a release off, the sign-offs, and the audit trail.

Sign-offs and audit events are append-only: the database refuses to update or delete them
(triggers installed by ``0003_append_only_triggers``; see ``approvals/triggers.py``), and the
audit events form a hash chain that ``manage.py verify_audit`` walks. Writes go through
``approvals.services`` and ``relcal.audit``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from releases.models import Release, Team


class Role(models.TextChoices):
    PRODUCT = "product", "Product"
    LEGAL = "legal", "Legal"
    SECURITY = "security", "Security"
    QA = "qa", "QA"
    CAB = "cab", "Change advisory board"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Meaning(models.TextChoices):
    """What a signature means (21 CFR 11.50): fixed, so that evidence reads the same everywhere."""

    APPROVED_FOR_RELEASE = "approved_for_release", "Approved for release"
    LEGAL_CLEARANCE = "legal_clearance", "Legal clearance given"
    SECURITY_REVIEW_PASSED = "security_review_passed", "Security review passed"
    QUALITY_VERIFIED = "quality_verified", "Quality verified"
    CHANGE_AUTHORISED = "change_authorised", "Change authorised by the CAB"
    NOT_APPROVED = "not_approved", "Not approved for release"


REJECT_MEANINGS = {Meaning.NOT_APPROVED}
APPROVE_MEANINGS = set(Meaning) - REJECT_MEANINGS
# The meaning offered first for each role's approval.
DEFAULT_MEANING = {
    Role.PRODUCT: Meaning.APPROVED_FOR_RELEASE,
    Role.LEGAL: Meaning.LEGAL_CLEARANCE,
    Role.SECURITY: Meaning.SECURITY_REVIEW_PASSED,
    Role.QA: Meaning.QUALITY_VERIFIED,
    Role.CAB: Meaning.CHANGE_AUTHORISED,
}


class ApprovalPolicy(models.Model):
    """The sign-offs a team's releases need; the default policy covers teams without one."""

    name = models.CharField(max_length=100, unique=True)
    team = models.OneToOneField(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="approval_policy",
        help_text="Leave empty for the default policy.",
    )
    is_default = models.BooleanField(
        "default policy", default=False, help_text="Applies to every team without its own."
    )
    description = models.TextField(blank=True, max_length=2_000)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "approval policies"
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="approval_policy_one_default",
                violation_error_message="There is a default policy already.",
            ),
            models.CheckConstraint(
                condition=Q(is_default=True, team__isnull=True)
                | Q(is_default=False, team__isnull=False),
                name="approval_policy_default_xor_team",
                violation_error_message="A policy is either the default or for one team.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApprovalRequirement(models.Model):
    policy = models.ForeignKey(
        ApprovalPolicy, on_delete=models.CASCADE, related_name="requirements"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    group = models.ForeignKey(
        Group,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only members of this group sign for the role.",
    )
    count = models.PositiveSmallIntegerField(
        "approvals needed",
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    segregation_of_duties = models.BooleanField(
        default=True,
        help_text="The release manager and the owners of its scope items may not approve.",
    )

    class Meta:
        ordering = ["policy", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "role"],
                name="approval_requirement_role_once",
                violation_error_message="This policy names that role already.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} × {self.count}"


class ReleaseRequirement(models.Model):
    """A release's requirements, copied from its policy when its scope froze."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="approval_requirements"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    group = models.ForeignKey(Group, on_delete=models.SET_NULL, null=True, related_name="+")
    group_name = models.CharField(max_length=150)
    count = models.PositiveSmallIntegerField("approvals needed")
    segregation_of_duties = models.BooleanField()
    policy_name = models.CharField(max_length=100)
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["release", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "role"], name="release_requirement_role_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.release}: {self.get_role_display()} × {self.count}"


class SignOff(models.Model):
    """One signature, never changed: a newer decision by the same signer supersedes it."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="signoffs")
    role = models.CharField(max_length=20, choices=Role.choices)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signoffs"
    )
    signer_name = models.CharField("printed name", max_length=300)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    meaning = models.CharField(max_length=30, choices=Meaning.choices)
    comment = models.TextField(blank=True, max_length=2_000)
    signed_at = models.DateTimeField("signed at")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the snapshot.")
    snapshot = models.JSONField(help_text="What was signed, as canonical JSON.")

    class Meta:
        ordering = ["signed_at", "id"]
        indexes = [
            models.Index(fields=["release", "role", "signer"], name="signoff_release_role_signer")
        ]

    def __str__(self) -> str:
        return (
            f"{self.release}: {self.get_decision_display()} as {self.get_role_display()} "
            f"by {self.signer_name}"
        )


class AuditEvent(models.Model):
    """One link of the hash chain; ``seq`` is its position (1, 2, 3, … without gaps)."""

    seq = models.BigIntegerField(primary_key=True)
    timestamp = models.DateTimeField("time", db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField("actor", max_length=300)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField("object", max_length=200)
    # The release the event is filed under (its own, or its milestone's, …), for evidence.
    release_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_address = models.CharField(max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="auditevent_object")]
        permissions = [
            ("view_evidence", "Can see sign-off evidence and export the audit trail"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_repr}".strip()


# Readiness lives in its own module; importing it here registers its models with the app.
from .readiness.models import (  # noqa: E402
    CheckReport,
    CheckSource,
    CheckStatus,
    ReleaseCandidate,
    Waiver,
)

__all__ = [
    "APPROVE_MEANINGS",
    "DEFAULT_MEANING",
    "REJECT_MEANINGS",
    "ApprovalPolicy",
    "ApprovalRequirement",
    "AuditEvent",
    "CheckReport",
    "CheckSource",
    "CheckStatus",
    "Decision",
    "Meaning",
    "ReleaseCandidate",
    "ReleaseRequirement",
    "Role",
    "SignOff",
    "Waiver",
]
