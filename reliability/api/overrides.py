"""``/api/v1/budget-overrides/``: SRE overrides of the error-budget gate, one release each,
signed with the password and a reason (like ``/api/v1/waivers/`` for the change advisory
board). Everyone signed in lists those of the releases they may see."""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import SignatureFields
from relcal.api.filters import FilterBackend
from relcal.api.serializers import RefusesNul, Serializer
from relcal.api.views import LOCKED, WRITE_ERRORS, call_service
from releases.models import Release
from releases.selectors import visible_release_q, visible_releases

from ..models import BudgetOverride
from ..overrides import budget_override

CONFLICT = {
    409: OpenApiResponse(description="Overridden already, or the release is no longer on its way.")
}


class BudgetOverrideSerializer(Serializer):
    release_name = serializers.CharField(source="release.name", read_only=True)

    class Meta:
        model = BudgetOverride
        fields = ["id", "release", "release_name", "reason", "signer_name", "signed_at"]
        read_only_fields = fields


class BudgetOverrideInputSerializer(RefusesNul, SignatureFields, serializers.Serializer):
    release = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The release's id."
    )
    reason = serializers.CharField(max_length=2_000, help_text="Why it may ship anyway.")


class BudgetOverrideFilter(django_filters.FilterSet):
    release = django_filters.NumberFilter(field_name="release_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = BudgetOverride
        fields = ["release"]


@extend_schema_view(
    create=extend_schema(
        request=BudgetOverrideInputSerializer,
        responses={201: BudgetOverrideSerializer, **WRITE_ERRORS, **CONFLICT, **LOCKED},
        examples=[
            OpenApiExample(
                "An SRE lets a release through",
                request_only=True,
                value={
                    "release": 12,
                    "reason": "The burn came from a dependency outage; this release fixes "
                    "nothing on the service's path and ships the incident's follow-up alerting.",
                    "password": "…",
                },
            )
        ],
    ),
)
class BudgetOverrideViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Overrides of the error-budget gate: an SRE lets one release pass it, signed with the
    password and a reason (the "SRE" group, `reliability.override_error_budget`)."""

    serializer_class = BudgetOverrideSerializer
    filterset_class = BudgetOverrideFilter
    filter_backends = [FilterBackend]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BudgetOverride.objects.none()
        return (
            BudgetOverride.objects.filter(visible_release_q(self.request.user, "release__"))
            .select_related("release")
            .order_by("-signed_at", "-id")
        )

    def create(self, request: Request) -> Response:
        data = BudgetOverrideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        # The same 404 for a release that does not exist and one the user may not see.
        release = get_object_or_404(
            visible_releases(request.user, Release.objects.all()), pk=fields.pop("release")
        )
        override = call_service(budget_override, actor=request.user, release=release, **fields)
        return Response(BudgetOverrideSerializer(override).data, status=status.HTTP_201_CREATED)
