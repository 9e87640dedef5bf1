"""API shapes for sign-offs, approval status, what waits for an approver, and audit events."""

from __future__ import annotations

from rest_framework import serializers

from approvals.chain import COLUMNS
from approvals.models import AuditEvent, Decision, Meaning, Role, SignOff
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


class SignOffInputSerializer(serializers.Serializer):
    release = serializers.PrimaryKeyRelatedField(queryset=Release.objects.all())
    role = serializers.ChoiceField(choices=Role.choices)
    decision = serializers.ChoiceField(choices=Decision.choices)
    meaning = serializers.ChoiceField(choices=Meaning.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2_000)
    password = serializers.CharField(write_only=True, trim_whitespace=False)
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


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = list(COLUMNS)
        read_only_fields = fields
