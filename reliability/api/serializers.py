"""API shapes for services, SLOs, pushed measurements, chart series and the services a release
touches.

Serializers check the shape of input (types, lengths, known slugs the reader may see) and render
output; every rule (objective within (0, 100), window, PromQL tried against Prometheus, good ≤
total, overlapping intervals, who may do what) is ``reliability.services``' job, so the API
answers like the admin does. A key a resource does not take is refused by name, not ignored: a
typo (``objectve``) or a computed field (``state``) sent in a write is a 400 saying so.
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from relcal.api.fields import BoundedDateTimeField
from relcal.api.serializers import RefusesNul, Serializer
from releases.models import Team
from releases.selectors import visible_teams

from .. import budget, selectors
from ..models import SLO, Measurement, Service, SLISource, SLOSnapshot
from ..permissions import sees_every_service
from ..services import MAX_EVENTS

COMPUTED = "Read-only: computed by the evaluation."
# Browsable API forms post their CSRF token along with the fields.
FORM_KEYS = {"csrfmiddlewaretoken"}


def _user(serializer: serializers.Field):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class RefusesUnknown:
    """Refuses keys the serializer does not take (``{"objectve": ["Unknown field; …"]}``) and
    read-only ones (``{"state": ["Read-only: …"]}``), instead of DRF's silent ignoring."""

    read_only_reasons: Mapping[str, str] = {}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = sorted(name for name, field in self.fields.items() if not field.read_only)
            errors = {}
            for key in data:
                if key in writable or key in FORM_KEYS:
                    continue
                if key in self.fields:
                    errors[key] = [self.read_only_reasons.get(key, "Read-only.")]
                else:
                    errors[str(key)[:100]] = [
                        f"Unknown field; the fields you can send are: {', '.join(writable)}."
                    ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class VisibleTeamField(serializers.SlugRelatedField):
    """A team's slug; a private team the requesting user may not see is "does not exist"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The owning team's slug, e.g. `payments`.")
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        user = _user(self)
        return Team.objects.all() if sees_every_service(user) else visible_teams(user)


@extend_schema_field(OpenApiTypes.STR)
class VisibleServiceField(serializers.SlugRelatedField):
    """A service's slug; one the requesting user may not see is "does not exist", exactly like
    one that does not exist."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The service's slug, e.g. `payments-api`.")
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return selectors.visible_services(_user(self), Service.objects.all())


# --- Services --------------------------------------------------------------------------------


# Read-only states are plain strings, as in the release API: the enums of the schema are the
# ones a client sends.
STATE_HELP = "healthy, at_risk, exhausted or no_data (never healthy)."


class SLOSummarySerializer(serializers.ModelSerializer):
    """An SLO as a line of its service: its state and budget."""

    state = serializers.CharField(read_only=True, help_text=STATE_HELP)
    alert = serializers.CharField(read_only=True, help_text="`page`, `ticket` or empty.")

    class Meta:
        model = SLO
        fields = ["id", "name", "objective", "window_days", "state", "budget_remaining", "alert"]
        read_only_fields = fields


class ServiceSerializer(RefusesUnknown, Serializer):
    """A service of a team, with each SLO's latest state. Members of the team, release managers
    and SRE create and change it; everyone who may see the team reads it."""

    team = VisibleTeamField()
    team_name = serializers.CharField(source="team.name", read_only=True)
    slos = SLOSummarySerializer(many=True, read_only=True)
    url = serializers.CharField(
        source="get_absolute_url", read_only=True, help_text="Its Reliability page."
    )

    class Meta:
        model = Service
        fields = ["id", "slug", "name", "team", "team_name", "description", "slos", "url"]
        fields += ["updated_at"]
        read_only_fields = ["id", "updated_at"]
        extra_kwargs = {
            "slug": {
                "required": False,
                "allow_blank": True,
                "help_text": "Defaults to the name, slugified (e.g. `payments-api`).",
            }
        }


class ServiceRefSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug", read_only=True)

    class Meta:
        model = Service
        fields = ["id", "slug", "name", "team"]
        read_only_fields = fields


# --- SLOs ------------------------------------------------------------------------------------

_EVALUATION = [
    "state",
    "state_label",
    "state_since",
    "alert",
    "sli",
    "budget_remaining",
    "budget_minutes",
    "burn_rates",
    "evaluated_at",
    "last_error",
]


class SLOSerializer(RefusesUnknown, Serializer):
    """An SLO and its latest evaluation. `budget_remaining` is a fraction of the error budget
    (1 untouched, 0 spent, below 0 overspent); `budget_minutes` the same as minutes of full
    outage; `burn_rates` per window (`5m` … `3d`), null for a window without events."""

    service = VisibleServiceField()
    service_name = serializers.CharField(source="service.name", read_only=True)
    team = serializers.CharField(source="service.team.slug", read_only=True)
    objective = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        help_text="The share of good events to reach (%), strictly between 0 and 100, e.g. 99.9.",
    )
    window_days = serializers.IntegerField(
        required=False, help_text="The rolling window in days, at least 1 (default 28)."
    )
    source = serializers.ChoiceField(
        choices=SLISource.choices,
        help_text="`prometheus`: the expressions below, asked of Prometheus; `pushed`: "
        "measurements POSTed to `/slos/{id}/measurements/`.",
    )
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    alert = serializers.CharField(read_only=True, help_text="`page`, `ticket` or empty.")
    budget_minutes = serializers.SerializerMethodField(
        help_text="The budget left as minutes of full outage (negative: overspent)."
    )
    burn_rates = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        read_only=True,
        help_text="Window (`5m`, `30m`, `1h`, `6h`, `24h`, `3d`) → burn rate (1: the budget "
        "lasts exactly the window).",
    )
    url = serializers.CharField(
        source="service.get_absolute_url", read_only=True, help_text="Its Reliability page."
    )

    read_only_reasons = {
        **dict.fromkeys(_EVALUATION, COMPUTED),
        "service": "An SLO stays with its service; create a new one on the other service.",
    }

    class Meta:
        model = SLO
        fields = [
            "id",
            "service",
            "service_name",
            "team",
            "name",
            "objective",
            "window_days",
            "source",
            "prometheus_url",
            "good_query",
            "total_query",
            "error_ratio_query",
            *_EVALUATION,
            "url",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at", "sli", "evaluated_at", "state_since"]
        read_only_fields += ["last_error"]
        # The service checks uniqueness and names the field; no lookups before it.
        validators = []
        extra_kwargs = {
            "good_query": {
                "help_text": "PromQL of good events with `$window`, e.g. "
                '`sum(rate(http_requests_total{job="api",code!~"5.."}[$window]))`.'
            },
            "total_query": {"help_text": "PromQL of all events with `$window`."},
            "error_ratio_query": {
                "help_text": "Instead of good and total: PromQL of the share "
                "of bad events, with `$window`."
            },
            "prometheus_url": {"help_text": "Empty: the server in `RELCAL_PROMETHEUS_URL`."},
        }

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["service"].read_only = True
        return fields

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_budget_minutes(self, slo: SLO) -> float | None:
        minutes = budget.slo_budget_minutes(slo)
        return None if minutes is None else round(minutes, 2)


# --- Measurements ----------------------------------------------------------------------------


class MeasurementSerializer(RefusesUnknown, RefusesNul, serializers.ModelSerializer):
    """Good and total events of one interval `[start, end)`."""

    start = BoundedDateTimeField(help_text="Inclusive, with a UTC offset.")
    end = BoundedDateTimeField(
        help_text="Exclusive, with a UTC offset; at most a day after start, not in the future."
    )
    good = serializers.IntegerField(
        min_value=0,
        max_value=MAX_EVENTS,
        error_messages={"min_value": "A count of events cannot be negative."},
        help_text="Events that met the objective (at most `total`).",
    )
    total = serializers.IntegerField(
        min_value=0,
        max_value=MAX_EVENTS,
        error_messages={"min_value": "A count of events cannot be negative."},
        help_text="All events of the interval.",
    )

    class Meta:
        model = Measurement
        fields = ["id", "start", "end", "good", "total", "received_at"]
        read_only_fields = ["id", "received_at"]
        validators = []


# --- Chart series ----------------------------------------------------------------------------


class SeriesQuerySerializer(RefusesNul, serializers.Serializer):
    points = serializers.IntegerField(
        required=False,
        min_value=2,
        max_value=1_000,
        default=selectors.SERIES_POINTS,
        help_text="At most this many points, spread evenly over the window (default 300).",
    )


class PointSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)
    alert = serializers.CharField(read_only=True, help_text="`page`, `ticket` or empty.")

    class Meta:
        model = SLOSnapshot
        fields = ["at", "budget_remaining", "sli", "state", "alert"]
        read_only_fields = fields


class DeploymentMarkSerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="deployed_at")
    version = serializers.CharField()
    environment = serializers.CharField(source="environment.slug")
    outcome = serializers.CharField()
    release = serializers.IntegerField(source="release_id")
    release_name = serializers.CharField(source="release.name")


class SeriesSerializer(serializers.Serializer):
    """The burn-down of one SLO over its window: the budget left at each evaluation, the
    policy's at-risk line and the production deployments of releases touching its service."""

    slo = serializers.IntegerField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    at_risk_below = serializers.FloatField(
        help_text="The freeze threshold: a fraction of the budget (0.25 = 25 %)."
    )
    points = PointSerializer(many=True)
    deployments = DeploymentMarkSerializer(many=True)


# --- The services a release touches ------------------------------------------------------------


class ReleaseServicesInputSerializer(RefusesUnknown, RefusesNul, serializers.Serializer):
    services = serializers.ListField(
        child=VisibleServiceField(),
        allow_empty=True,
        max_length=100,
        help_text="Slugs of the services the release touches; an empty list: its team's.",
    )


class TouchedServiceSerializer(ServiceRefSerializer):
    because = serializers.ChoiceField(
        choices=[("named", "named"), ("team", "team")],
        read_only=True,
        help_text="`named`: the release names it; `team`: the release names no service and "
        "touches its team's.",
    )

    class Meta(ServiceRefSerializer.Meta):
        fields = [*ServiceRefSerializer.Meta.fields, "because"]
        read_only_fields = fields
