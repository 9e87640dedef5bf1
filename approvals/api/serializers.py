"""API shapes for sign-offs, approval status, what waits for an approver, and audit events."""

from __future__ import annotations

from rest_framework import serializers

from accounts.api import SignatureFields
from approvals.chain import COLUMNS
from approvals.models import (
    AuditEvent,
    CheckReport,
    CheckStatus,
    Decision,
    Meaning,
    ReleaseCandidate,
    Role,
    SignOff,
    Waiver,
)
from relcal.api.fields import AwareDateTimeField, JSONField
from relcal.api.serializers import RefusesNul
from releases.models import Release


class SignOffSerializer(serializers.ModelSerializer):
    release_name = serializers.CharField(source="release.name", read_only=True)
    signer = serializers.CharField(source="signer.username", read_only=True)
    stale = serializers.SerializerMethodField()
    superseded = serializers.SerializerMethodField()

    class Meta:
        model = SignOff
        fields = [
            "id",
            "release",
            "release_name",
            "role",
            "signer",
            "signer_name",
            "decision",
            "meaning",
            "comment",
            "signed_at",
            "fingerprint",
            "stale",
            "superseded",
        ]
        read_only_fields = fields

    def _freshness(self, signoff: SignOff) -> tuple[bool, bool]:
        return self.context.get("freshness", {}).get(signoff.pk, (False, False))

    def get_stale(self, signoff: SignOff) -> bool:
        return self._freshness(signoff)[0]

    def get_superseded(self, signoff: SignOff) -> bool:
        return self._freshness(signoff)[1]


class SignOffInputSerializer(SignatureFields, serializers.Serializer):
    release = serializers.PrimaryKeyRelatedField(queryset=Release.objects.all())
    role = serializers.ChoiceField(choices=Role.choices)
    decision = serializers.ChoiceField(choices=Decision.choices)
    meaning = serializers.ChoiceField(choices=Meaning.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2_000)
    fingerprint = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        help_text="The fingerprint you reviewed; refused if the release changed since.",
    )


class RoleStatusSerializer(serializers.Serializer):
    role = serializers.CharField()
    group = serializers.CharField(source="requirement.group_name")
    count = serializers.IntegerField(source="requirement.count")
    segregation_of_duties = serializers.BooleanField(source="requirement.segregation_of_duties")
    state = serializers.CharField()
    approved_by = serializers.SerializerMethodField()
    problems = serializers.ListField(child=serializers.CharField())

    def get_approved_by(self, role) -> list[str]:
        return [s.signer_name for s in role.counted]


class ApprovalStatusSerializer(serializers.Serializer):
    release = serializers.IntegerField(source="release.pk")
    state = serializers.CharField(source="release.state")
    complete = serializers.BooleanField()
    fingerprint = serializers.CharField()
    snapshot = serializers.JSONField()
    roles = RoleStatusSerializer(many=True)
    problems = serializers.ListField(child=serializers.CharField())


class PendingSerializer(serializers.Serializer):
    release = serializers.IntegerField(source="release.pk")
    release_name = serializers.CharField(source="release.name")
    state = serializers.CharField(source="release.state")
    role = serializers.CharField(source="role.role")
    asked_again = serializers.BooleanField()
    fingerprint = serializers.CharField(source="status.fingerprint")


class PendingQuerySerializer(serializers.Serializer):
    """``?page=`` and ``?page_size=`` of the pending list, as on every list."""

    page = serializers.IntegerField(min_value=1, max_value=10_000, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=500, default=50)


class PendingPageSerializer(serializers.Serializer):
    """A page of pending sign-offs. There is no ``count``: counting would read every release
    awaiting sign-off, which is what the page avoids; follow ``next`` until it is null."""

    next = serializers.URLField(allow_null=True, help_text="The following page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The page before, or null.")
    results = PendingSerializer(many=True)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = list(COLUMNS)
        read_only_fields = fields


# --- Readiness: candidates, checks, waivers ------------------------------------------------------


class CheckReportSerializer(serializers.ModelSerializer):
    reported_by = serializers.CharField(source="reported_by.username", read_only=True)

    class Meta:
        model = CheckReport
        fields = [
            "id",
            "candidate",
            "name",
            "status",
            "url",
            "summary",
            "details",
            "source",
            "reported_by",
            "reported_at",
        ]
        read_only_fields = fields


class CandidateSerializer(serializers.ModelSerializer):
    reported_by = serializers.CharField(source="reported_by.username", read_only=True)
    current = serializers.SerializerMethodField(
        help_text="The release's newest candidate; the others are superseded."
    )

    class Meta:
        model = ReleaseCandidate
        fields = [
            "id",
            "release",
            "version",
            "commit_sha",
            "artifact_digest",
            "build_url",
            "first_commit_at",
            "last_commit_at",
            "reported_by",
            "reported_at",
            "current",
        ]
        read_only_fields = fields

    def get_current(self, candidate: ReleaseCandidate) -> bool:
        return candidate.pk in self.context.get("current_ids", ())


class CandidateDetailSerializer(CandidateSerializer):
    checks = CheckReportSerializer(
        many=True, read_only=True, help_text="Every report, oldest first."
    )

    class Meta(CandidateSerializer.Meta):
        fields = [*CandidateSerializer.Meta.fields, "checks"]


class CommitsSerializer(serializers.Serializer):
    first = AwareDateTimeField(help_text="When the change set's first commit was made.")
    last = AwareDateTimeField(help_text="When its last commit was made.")


class CandidateInputSerializer(RefusesNul, serializers.Serializer):
    version = serializers.CharField(max_length=100, help_text="e.g. 4.3.0-rc.2")
    commit_sha = serializers.CharField(max_length=64, help_text="The git commit built.")
    artifact_digest = serializers.CharField(
        max_length=71, help_text="The image or package digest: sha256:<64 hex digits>."
    )
    build_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    commits = CommitsSerializer(required=False, help_text="The change set, for lead time.")


class CheckInputSerializer(RefusesNul, serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="e.g. integration-tests")
    status = serializers.ChoiceField(
        choices=CheckStatus.choices,
        required=False,
        help_text="Required unless a `junit` or `sarif` file gives it.",
    )
    url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    details = JSONField(required=False, allow_null=True, help_text="At most 64 KB.")
    junit = serializers.FileField(required=False, help_text="A JUnit XML report (multipart).")
    sarif = serializers.FileField(required=False, help_text="A SARIF 2.1 report (multipart).")

    def validate(self, data):
        files = [kind for kind in ("junit", "sarif") if data.get(kind)]
        if len(files) > 1:
            raise serializers.ValidationError({"sarif": "Upload one report file at a time."})
        if not files and "status" not in data:
            raise serializers.ValidationError(
                {"status": "Give the status, or upload a junit or sarif file to read it from."}
            )
        return data


class WaiverSerializer(serializers.ModelSerializer):
    release = serializers.IntegerField(source="candidate.release_id", read_only=True)
    version = serializers.CharField(source="candidate.version", read_only=True)

    class Meta:
        model = Waiver
        fields = [
            "id",
            "candidate",
            "release",
            "version",
            "gate",
            "reason",
            "signer_name",
            "signed_at",
        ]
        read_only_fields = fields


class WaiverInputSerializer(RefusesNul, SignatureFields, serializers.Serializer):
    candidate = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The candidate's id."
    )
    gate = serializers.CharField(max_length=50, help_text="The failing gate, e.g. checks.")
    reason = serializers.CharField(max_length=2_000, help_text="Why it may ship anyway.")
