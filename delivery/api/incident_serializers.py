"""API shapes for incidents: the answer, and the input of opening (``POST``) and changing
(``PATCH``) one.

The serializers check the shape (types, lengths, slugs and ids the reader may see); every rule
(times in order, the cause a production change that existed when the incident opened, who may
do what) is ``delivery.incidents``' job, so the API answers like the admin and the webhooks.
Keys an incident does not take are refused by name, as in the reliability API.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from environments.api.serializers import VisibleReleaseField
from environments.models import Deployment
from relcal.api.fields import NULL_CHARACTERS, BoundedDateTimeField
from relcal.api.serializers import RefusesNul
from reliability.api.serializers import RefusesUnknown, VisibleServiceField
from reliability.models import Service

from ..incidents import MAX_SERVICES
from ..models import Incident, Severity

CAUSES = Deployment.objects.select_related("environment__owner_team", "release__team")


class IncidentServiceSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug", read_only=True)

    class Meta:
        model = Service
        fields = ["slug", "name", "team"]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    """An incident: what, where (services), how bad, when (opened, resolved), where it lives
    (`url`, `source`, `external_id`) and what caused it when known (`deployment`, `release`).
    A release the reader may not see is left out (null)."""

    severity_label = serializers.CharField(source="get_severity_display", read_only=True)
    services = IncidentServiceSerializer(many=True, read_only=True)
    open = serializers.SerializerMethodField(help_text="Not resolved yet.")
    restore_seconds = serializers.SerializerMethodField(
        help_text="From opened to resolved, in seconds (null while open)."
    )
    source = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The webhook source's slug (null: the API or the admin).",
    )
    deployment_version = serializers.CharField(
        source="deployment.version", read_only=True, allow_null=True, default=None
    )
    deployment_environment = serializers.CharField(
        source="deployment.environment.slug", read_only=True, allow_null=True, default=None
    )
    release_name = serializers.CharField(
        source="release.name", read_only=True, allow_null=True, default=None
    )
    caused_by_change = serializers.SerializerMethodField(
        help_text="A deployment or a release is named as the cause."
    )
    reported_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "severity",
            "severity_label",
            "services",
            "opened_at",
            "resolved_at",
            "open",
            "restore_seconds",
            "url",
            "source",
            "external_id",
            "deployment",
            "deployment_version",
            "deployment_environment",
            "release",
            "release_name",
            "caused_by_change",
            "reported_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Incident):
        data = super().to_representation(instance)
        # Annotated by ``delivery.selectors.incident_list``: a private release stays unnamed.
        if not getattr(instance, "release_visible", True):
            data["release"] = data["release_name"] = None
        return data

    def get_open(self, incident: Incident) -> bool:
        return incident.resolved_at is None

    def get_restore_seconds(self, incident: Incident) -> int | None:
        if incident.resolved_at is None:
            return None
        return int((incident.resolved_at - incident.opened_at).total_seconds())

    def get_caused_by_change(self, incident: Incident) -> bool:
        return incident.deployment_id is not None or incident.release_id is not None


@extend_schema_field({"type": "array", "items": {"type": "string"}, "example": ["payments-api"]})
class ServicesField(serializers.ListField):
    """Service slugs; NUL refused before any lookup (PostgreSQL cannot even compare it)."""

    def to_internal_value(self, data):
        if isinstance(data, list) and any(isinstance(v, str) and "\x00" in v for v in data):
            raise serializers.ValidationError(NULL_CHARACTERS)
        return super().to_internal_value(data)


class _IncidentInput(RefusesUnknown, RefusesNul, serializers.Serializer):
    title = serializers.CharField(max_length=300)
    severity = serializers.ChoiceField(
        choices=Severity.choices, help_text=f"One of {', '.join(Severity.values)}."
    )
    services = ServicesField(
        child=VisibleServiceField(),
        min_length=1,
        max_length=MAX_SERVICES,
        help_text="Slugs of the services it affects (at least one).",
    )
    opened_at = BoundedDateTimeField(help_text="When it started, with a UTC offset.")
    resolved_at = BoundedDateTimeField(
        allow_null=True, help_text="When service was restored, with a UTC offset."
    )
    url = serializers.URLField(
        max_length=500, allow_blank=True, help_text="Where it lives (the on-call tool's page)."
    )
    deployment = serializers.PrimaryKeyRelatedField(
        queryset=CAUSES,
        allow_null=True,
        help_text="The id of the production deployment that caused it, when known.",
    )
    release = VisibleReleaseField(
        allow_null=True,
        help_text="The id of the release that caused it, when known (without a deployment: "
        "its latest production deployment before the incident opened).",
    )


class IncidentOpenSerializer(_IncidentInput):
    """``POST /incidents/``: open one (or, with an `external_id` sent before, update it)."""

    external_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Your tool's id for the incident: sending it again updates the incident "
        "stored the first time (200) instead of adding one.",
    )

    def get_fields(self):
        fields = super().get_fields()
        for name in ("severity", "resolved_at", "url", "deployment", "release"):
            fields[name].required = False
            fields[name].default = None
        fields["url"].default = ""
        fields["opened_at"].required = False
        fields["opened_at"].default = None
        fields["opened_at"].help_text += " Default: now."
        return fields


class IncidentUpdateSerializer(_IncidentInput):
    """``PATCH /incidents/{id}/``: resolve (`resolved_at`), reopen (`resolved_at: null`), name
    or clear the cause (`deployment`, `release`: an id or null), or change the rest."""

    read_only_reasons = {
        "external_id": "The tool's id stays; open a new incident for another one.",
    }
    external_id = serializers.CharField(read_only=True)

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


class WebhookAnswerSerializer(serializers.Serializer):
    result = serializers.ChoiceField(
        choices=[("created", "created"), ("updated", "updated"), ("ignored", "ignored")],
        help_text="`created` (201), `updated` (200) or `ignored` (202: an event that records "
        "nothing, e.g. `incident.acknowledged` or PagerDuty's test `pagey.ping`).",
    )
    incident = serializers.IntegerField(allow_null=True, help_text="The incident's id.")
    detail = serializers.CharField(allow_blank=True)
