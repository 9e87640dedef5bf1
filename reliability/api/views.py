"""Reliability API: services, SLOs, pushed measurements, chart series and the services a release
touches; viewsets thin over ``reliability.selectors`` and ``reliability.services``.

Everything answers only what the reader may see: a private team's services and SLOs are 404 by
path and "does not exist" by slug in a body, exactly like ones that do not exist. Writes are one
service call with the signed-in user as the actor; the project's exception handler turns a
refusal into 400 (naming the field), 403 or 409. Lists run a fixed number of queries.
"""

from __future__ import annotations

from functools import partial

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from relcal.api.filters import FILTERS
from relcal.api.views import ERRORS, ID, NO_PUT, NOT_FOUND, SLUG, WRITE_ERRORS, call_service
from relcal.db import reread
from releases.models import Release
from releases.selectors import visible_releases

from .. import policy, selectors, services
from ..filters import ServiceFilter, SLOFilter
from ..models import SLO, Service
from . import examples as ex
from . import serializers as s

CONFLICT = {409: OpenApiResponse(description="Conflicts with what is stored; `detail` says how.")}


# A push is one measurement or a list of them, answered in the same shape (never paginated).
# A raw schema, since drf-spectacular has no "one or many" of a serializer; the component is the
# one the GET answer registers.
def _one_or_many(component: str) -> dict:
    ref = {"$ref": f"#/components/schemas/{component}"}
    return {
        "oneOf": [
            ref,
            {"type": "array", "items": ref, "minItems": 1, "maxItems": services.MAX_BATCH},
        ]
    }


# --- Services --------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        description="Add a service to a team: members of the team, release managers and SRE.",
        examples=[ex.SERVICE],
        responses={201: s.ServiceSerializer, **ERRORS},
    ),
    partial_update=extend_schema(responses={200: s.ServiceSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(
        description="Remove a service with its SLOs, measurements and snapshots (refused while "
        "one of its SLOs holds an error-budget freeze).",
        responses={204: None, **WRITE_ERRORS},
    ),
)
class ServiceViewSet(viewsets.ModelViewSet):
    """Services, each owned by a team, with every SLO's latest state. A release touches the
    services it names (`/releases/{id}/services/`), or else its team's."""

    serializer_class = s.ServiceSerializer
    filter_backends = FILTERS
    filterset_class = ServiceFilter
    ordering_fields = ["name", "slug", "updated_at"]
    ordering = ["name"]
    lookup_field = "slug"
    lookup_value_regex = SLUG
    http_method_names = NO_PUT

    def get_queryset(self):
        return selectors.service_list(self.request.user)

    def perform_create(self, serializer: s.ServiceSerializer) -> None:
        service = call_service(
            services.service_create, actor=self.request.user, **serializer.validated_data
        )
        serializer.instance = reread(self.get_queryset(), service.pk)

    def perform_update(self, serializer: s.ServiceSerializer) -> None:
        # ``call_service`` takes the service function as ``service``: bind the instance first.
        update = partial(services.service_update, service=serializer.instance)
        service = call_service(update, actor=self.request.user, **serializer.validated_data)
        serializer.instance = reread(self.get_queryset(), service.pk)

    def perform_destroy(self, instance: Service) -> None:
        services.service_delete(actor=self.request.user, service=instance)


# --- SLOs ------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        description="Add an SLO to a service. A Prometheus SLO's expressions (with `$window` "
        "where the range goes) are tried against the server first: an expression Prometheus "
        "refuses is a 400 on its field with Prometheus's error, a server that does not answer "
        "a 400 on `prometheus_url`. A pushed SLO takes no expressions.",
        examples=[ex.SLO_PROMETHEUS, ex.SLO_RATIO, ex.SLO_PUSHED, ex.SLO_REFUSED],
        responses={201: s.SLOSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        description="Change an SLO; new expressions or another server are tried first. The "
        "figures follow at the next evaluation.",
        responses={200: s.SLOSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        description="Remove an SLO with its measurements and snapshots (refused while it holds "
        "an error-budget freeze).",
        responses={204: None, **WRITE_ERRORS},
    ),
)
class SLOViewSet(viewsets.ModelViewSet):
    """Service-level objectives and their latest evaluation: state, alert, SLI, the error
    budget left (also as minutes of full outage), burn rates, when, and the last error."""

    serializer_class = s.SLOSerializer
    filter_backends = FILTERS
    filterset_class = SLOFilter
    ordering_fields = ["name", "budget_remaining", "evaluated_at", "state"]
    ordering = ["service__name", "name"]
    lookup_value_regex = ID
    http_method_names = NO_PUT

    def get_queryset(self):
        return selectors.visible_slos(self.request.user)

    def perform_create(self, serializer: s.SLOSerializer) -> None:
        data = dict(serializer.validated_data)
        create = partial(services.slo_create, service=data.pop("service"))
        slo = call_service(create, actor=self.request.user, **data)
        serializer.instance = reread(self.get_queryset(), slo.pk)

    def perform_update(self, serializer: s.SLOSerializer) -> None:
        slo = call_service(
            services.slo_update,
            actor=self.request.user,
            slo=serializer.instance,
            **serializer.validated_data,
        )
        serializer.instance = reread(self.get_queryset(), slo.pk)

    def perform_destroy(self, instance: SLO) -> None:
        services.slo_delete(actor=self.request.user, slo=instance)

    @extend_schema(
        methods=["GET"],
        responses={200: s.MeasurementSerializer(many=True), **NOT_FOUND},
        description="The measurements pushed for this SLO, newest first, paginated.",
    )
    @extend_schema(
        methods=["POST"],
        # One object is accepted too (the description and examples say so).
        request=s.MeasurementSerializer(many=True),
        responses={
            201: OpenApiResponse(_one_or_many("Measurement"), description="What was stored."),
            **WRITE_ERRORS,
            **CONFLICT,
        },
        examples=[ex.PUSH_ONE, ex.PUSH_BATCH, ex.PUSH_BAD, ex.PUSH_OVERLAP],
        description="Push good and total event counts of intervals `[start, end)`: one object, "
        "or a list of up to 1,000 (stored all or none), answered in the same shape. Good may "
        "not exceed total, counts are not negative, an interval lasts at most a day and has "
        "ended. An interval overlapping a stored one is a 409 naming it, so a retried push "
        "never counts twice. For SLOs whose source is `pushed`; members of the service's "
        "team, release managers and SRE.",
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def measurements(self, request: Request, pk: str | None = None) -> Response:
        slo = self.get_object()
        if request.method == "GET":
            rows = slo.measurements.order_by("-end", "-id")
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(s.MeasurementSerializer(page, many=True).data)
        many = isinstance(request.data, list)
        data = s.MeasurementSerializer(
            data=request.data,
            many=many,
            **({"max_length": services.MAX_BATCH, "allow_empty": False} if many else {}),
        )
        data.is_valid(raise_exception=True)
        created = call_service(
            services.measurement_push,
            actor=request.user,
            slo=slo,
            measurements=data.validated_data if many else [data.validated_data],
        )
        answer = s.MeasurementSerializer(created if many else created[0], many=many).data
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "points",
                OpenApiTypes.INT,
                description="At most this many points (2 to 1,000; default 300).",
            )
        ],
        responses={200: s.SeriesSerializer, 400: ERRORS[400], **NOT_FOUND},
        examples=[ex.SERIES],
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def series(self, request: Request, pk: str | None = None) -> Response:
        """The error-budget burn-down over the SLO's window, for charts: evaluations thinned
        evenly to at most `points` (always keeping the latest), the freeze threshold, and the
        production deployments of releases touching the service that you may see."""
        slo = self.get_object()
        query = s.SeriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        since = selectors.window_start(slo, now)
        points = selectors.snapshot_series([slo], now=now, points=query.validated_data["points"])
        answer = {
            "slo": slo.pk,
            "window_start": since,
            "window_end": now,
            "at_risk_below": policy.policy_for(slo.service.team_id).at_risk_below,
            "points": points[slo.pk],
            "deployments": selectors.deployments_touching(
                slo.service, request.user, since=since, until=now
            ),
        }
        return Response(s.SeriesSerializer(answer).data)


# --- The services a release touches ------------------------------------------------------------


class ReleaseServicesViewSet(viewsets.GenericViewSet):
    """The services a release touches: the ones it names, or else its team's. The error-budget
    gate reads the SLOs of these services."""

    serializer_class = s.TouchedServiceSerializer
    queryset = Service.objects.none()  # for the schema; the release scopes the rows
    pagination_class = None

    def _release(self) -> Release:
        releases = visible_releases(self.request.user, Release.objects.select_related("team"))
        return get_object_or_404(releases, pk=self.kwargs["release_pk"])

    def _answer(self, release: Release) -> Response:
        visible = selectors.visible_services(self.request.user)
        named = list(visible.filter(releases=release).order_by("name"))
        if named or release.services.exists():
            rows = [(service, "named") for service in named]
        else:
            rows = [(service, "team") for service in visible.filter(team=release.team_id)]
        for service, why in rows:
            service.because = why
        data = s.TouchedServiceSerializer([service for service, _ in rows], many=True).data
        return Response(data)

    @extend_schema(responses={200: s.TouchedServiceSerializer(many=True), **NOT_FOUND})
    def list(self, request: Request, release_pk: str) -> Response:
        """The services the release touches (those you may see): `because` is `named` when
        the release names them, `team` when it names none and touches its team's."""
        return self._answer(self._release())

    @extend_schema(
        request=s.ReleaseServicesInputSerializer,
        responses={200: s.TouchedServiceSerializer(many=True), **WRITE_ERRORS},
        examples=[ex.RELEASE_SERVICES],
    )
    def create(self, request: Request, release_pk: str) -> Response:
        """Name the services the release touches, replacing the list (an empty list: its
        team's again): the release's team, its manager and release managers. Answers the
        services it touches now."""
        release = self._release()
        data = s.ReleaseServicesInputSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        call_service(
            services.release_services_set,
            actor=request.user,
            release=release,
            services=data.validated_data["services"],
        )
        return self._answer(release)
