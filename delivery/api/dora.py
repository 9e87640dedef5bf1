"""``GET /api/v1/dora/metrics/``: the four DORA keys with GitLab's parameters and answer shape.

GitLab serves them at ``/api/v4/projects/:id/dora/metrics`` (and per group); here they are per
team, per service, or over every team the reader may see. The parameters (``metric``,
``start_date``, ``end_date``, ``interval``) and the answer (``[{"date": …, "value": …}]``) are
GitLab's, so a dashboard built for GitLab's API reads this one with another URL. What each
value means: ``delivery.dora``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from relcal.api.fields import BoundedDateField
from relcal.api.serializers import RefusesNul

from .. import dora


class MetricsQuerySerializer(RefusesNul, serializers.Serializer):
    metric = serializers.CharField(max_length=50)
    start_date = BoundedDateField(required=False)
    end_date = BoundedDateField(required=False)
    interval = serializers.CharField(max_length=20, required=False, default="daily")
    team = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    service = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")

    def validate_metric(self, value: str) -> str:
        try:
            return dora.validate_metric(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["metric"]) from error

    def validate_interval(self, value: str) -> str:
        try:
            return dora.validate_interval(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["interval"]) from error


class DoraPointSerializer(serializers.Serializer):
    date = serializers.DateField(
        help_text="The bucket: the day, the month's first day, or start_date for interval all."
    )
    value = serializers.FloatField(
        allow_null=True,
        help_text="deployment_frequency: the number of production changes (0 for none); "
        "lead_time_for_changes and time_to_restore_service: the median in seconds; "
        "change_failure_rate: failed changes / changes (0 to 1). null: nothing to measure.",
    )


EXAMPLE = OpenApiExample(
    "Deployments per month of one team",
    response_only=True,
    value=[{"date": "2026-09-01", "value": 12}, {"date": "2026-10-01", "value": 9}],
)
EXAMPLE_LEAD_TIME = OpenApiExample(
    "Median lead time per day (seconds); null: no change that day",
    response_only=True,
    value=[{"date": "2026-09-01", "value": 93600.0}, {"date": "2026-09-02", "value": None}],
)
PARAMETERS = [
    OpenApiParameter(
        "metric",
        OpenApiTypes.STR,
        required=True,
        enum=list(dora.METRICS),
        description="The key to compute.",
    ),
    OpenApiParameter(
        "start_date",
        OpenApiTypes.DATE,
        description="First day (YYYY-MM-DD, in the server's time zone); default: three months "
        "before end_date.",
    ),
    OpenApiParameter(
        "end_date", OpenApiTypes.DATE, description="Last day, included; default: today."
    ),
    OpenApiParameter(
        "interval",
        OpenApiTypes.STR,
        enum=list(dora.INTERVALS),
        description=f"Buckets: daily (at most {dora.MAX_DAILY_DAYS} days), monthly or all "
        f"(at most {dora.MAX_YEARS} years); default daily.",
    ),
    OpenApiParameter("team", OpenApiTypes.STR, description="A team's slug."),
    OpenApiParameter("service", OpenApiTypes.STR, description="A service's slug."),
]


class DoraMetricsViewSet(viewsets.ViewSet):
    """The four DORA keys (GitLab's DORA metrics API, per team or service)."""

    @extend_schema(
        operation_id="dora_metrics",
        parameters=PARAMETERS,
        responses={
            200: DoraPointSerializer(many=True),
            400: OpenApiResponse(
                description="A bad parameter, named: an unknown metric (the answer lists "
                "them), interval, team or service, a malformed date, a start after the end, "
                "or a period longer than the interval allows."
            ),
            401: OpenApiResponse(description="Not signed in."),
        },
        examples=[EXAMPLE, EXAMPLE_LEAD_TIME],
    )
    def list(self, request: Request) -> Response:
        """One value per day, per month or for the whole period, as GitLab's
        `GET /projects/:id/dora/metrics` answers: `deployment_frequency` counts production
        changes, `lead_time_for_changes` is the median from first commit to production,
        `time_to_restore_service` the median from an incident caused by a change opening to its
        resolution (seconds), `change_failure_rate` the share of changes that caused an
        incident or were rolled back or hot-fixed. Over every team you may see, or one `team`
        or `service`; a team or service you may not see is answered like an unknown one."""
        return answer(request)


def answer(request: Request, *, team: str = "") -> Response:
    """The series the query parameters ask for (``team``: a team from the path, as GitLab's
    project id; the parameter of that name is then ignored)."""
    query = MetricsQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    if team:
        data["team"] = team
    start, end = data.get("start_date"), data.get("end_date")
    if end is None:
        end = dora.today()
    if start is None:
        start = dora.default_period(end)[0]
    points = dora.series(
        data["metric"],
        start=start,
        end=end,
        interval=data["interval"],
        user=request.user,
        team=data["team"] or None,
        service=data["service"] or None,
    )
    return Response(
        [{"date": point["date"].isoformat(), "value": point["value"]} for point in points]
    )


# --- GitLab's own path -----------------------------------------------------------------------


class PrivateTokenAuthentication(TokenAuthentication):
    """GitLab's ``PRIVATE-TOKEN`` header, carrying a Relcal API token."""

    def authenticate(self, request):
        key = request.META.get("HTTP_PRIVATE_TOKEN", "").strip()
        return self.authenticate_credentials(key) if key else None

    def authenticate_header(self, request) -> str:
        return "Token"


@extend_schema(exclude=True)
class GitLabProjectMetrics(APIView):
    """``GET /api/v4/projects/<team>/dora/metrics``: GitLab's path and header, with a team's
    slug for the project, so that a dashboard built for GitLab needs only another host."""

    authentication_classes = [
        PrivateTokenAuthentication,
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
    ]

    def get(self, request: Request, project: str) -> Response:
        return answer(request, team=project)
