"""Environments API: viewsets thin over ``environments.selectors`` and ``environments.services``.

CI pipelines are first-class users: ``POST /environments/{slug}/acquire/`` holds an environment
from now for N minutes (or answers 409 naming who holds it until when, with the next free slot),
and ``POST /bookings/{id}/release/`` gives it back. Every write is one service call with the
signed-in user as the actor; the project's exception handler turns a refusal into 400 (naming
the field), 403 or 409 (``relcal.errors.Conflict``), and the service stores nothing when it
refuses. Lists run a fixed number of queries however long they are.
"""

from __future__ import annotations

import re

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from environments import privacy, selectors, services
from environments.filters import (
    BookingFilter,
    EnvironmentFilter,
    MaintenanceFilter,
    WaitlistFilter,
)
from environments.models import (
    Booking,
    EnvironmentKind,
    MaintenanceWindow,
    WaitlistEntry,
)
from relcal.api.filters import FILTERS
from relcal.api.views import ID, NOT_FOUND, SLUG, call_service
from releases import gates, metrics

from . import examples as ex
from . import serializers as s

CONFLICT = {
    409: OpenApiResponse(
        s.ConflictSerializer, description="Another booking holds the slot; `detail` names it."
    )
}
CHANGED = {
    409: OpenApiResponse(
        s.DetailSerializer,
        description="It is over (ended, granted or withdrawn), maybe by a concurrent request "
        "just now; `state` says what it is.",
    )
}
# Field errors are an object keyed by field name; refusals for a person a sentence.
ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input; keyed by field."),
    403: OpenApiResponse(s.DetailSerializer, description="Not allowed for this user."),
}
WRITE_ERRORS = {**ERRORS, **NOT_FOUND}
# A "+" in a query string arrives as a space unless the client encoded it; "…T14:00:00 01:00"
# can only have meant the offset "+01:00".
_SPACED_OFFSET = re.compile(r" (\d\d:?\d\d)$")


# --- Environments -------------------------------------------------------------------------


@extend_schema_view(
    partial_update=extend_schema(
        description="Change booking rules, URL or description: the owning team and release "
        "managers. New rules apply to bookings made from now on.",
        examples=[ex.RULES],
        responses={200: s.EnvironmentSerializer, **WRITE_ERRORS},
    ),
)
class EnvironmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Environments (dev, qa, staging, prod…), their booking rules and what runs on them now."""

    serializer_class = s.EnvironmentSerializer
    filter_backends = FILTERS
    filterset_class = EnvironmentFilter
    ordering_fields = ["name", "slug", "kind"]
    lookup_field = "slug"
    lookup_value_regex = SLUG
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.with_release_visibility(
            selectors.environments_with_current_deployment(),
            self.request.user,
            "current_deployment__release__",
        )

    def perform_update(self, serializer: s.EnvironmentSerializer) -> None:
        services.environment_update(
            actor=self.request.user, environment=serializer.instance, **serializer.validated_data
        )
        serializer.instance = self.get_object()

    @extend_schema(
        request=s.AcquireSerializer,
        responses={201: s.BookingSerializer, **WRITE_ERRORS, **CONFLICT},
        examples=[ex.ACQUIRE, ex.ACQUIRED, ex.ACQUIRE_CONFLICT, ex.ACQUIRE_FORBIDDEN],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def acquire(self, request: Request, slug: str | None = None) -> Response:
        """Hold the environment from now for `minutes`, or fail with 409.

        The CI flow: a pipeline acquires the environment at the start of its run, keeps the
        booking's `id`, runs, and gives the rest back with `POST /api/v1/bookings/{id}/release/`
        (also when the run fails). A second pipeline meanwhile gets 409: `detail` says who holds
        the environment until when, `conflict` is that booking and `suggested` the next free
        slot of the same length. A booking nobody releases expires at its end.
        """
        environment = self.get_object()
        serializer = s.AcquireSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        booking = call_service(
            services.booking_acquire,
            actor=request.user,
            environment=environment,
            **serializer.validated_data,
        )
        return Response(
            s.BookingSerializer(booking, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "start", OpenApiTypes.DATETIME, description="With a UTC offset; default now."
            ),
            OpenApiParameter(
                "end",
                OpenApiTypes.DATETIME,
                description="With a UTC offset; default a week after start, at most 62 days.",
            ),
        ],
        responses={200: s.AvailabilitySerializer, 400: ERRORS[400], **NOT_FOUND},
        examples=[ex.AVAILABILITY],
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def availability(self, request: Request, slug: str | None = None) -> Response:
        """Free and busy intervals of the environment within `[start, end)`: each busy one
        says who holds it (team or maintenance) and why."""
        environment = self.get_object()
        params = {
            name: _SPACED_OFFSET.sub(r"+\1", value)
            for name, value in request.query_params.items()
            if name in ("start", "end")
        }
        query = s.AvailabilityQuerySerializer(data=params)
        query.is_valid(raise_exception=True)
        availability = selectors.availability(environment, **query.validated_data)
        # A private team's slot stays busy; who holds it and why are the team's business.
        privacy.conceal(request.user, [b.booking for b in availability.busy if b.booking])
        return Response(s.AvailabilitySerializer(availability).data)


# --- Bookings -----------------------------------------------------------------------------


def _bookings(user) -> QuerySet:
    return selectors.with_release_visibility(
        Booking.objects.select_related("environment", "team", "release", "booked_by"), user
    )


@extend_schema_view(
    create=extend_schema(
        description="Book an environment for `[start, end)`. A slot another booking holds is a "
        "409 naming it, with the next free slot of the same length in `suggested`.",
        examples=[ex.BOOK, ex.BOOK_CONFLICT, ex.BOOK_BAD_END],
        responses={201: s.BookingSerializer, **ERRORS, **CONFLICT},
    ),
)
class BookingViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Bookings of environments, every state (filter `state=confirmed&state=active` for the
    ones holding their slot). Change one with the `extend`, `release` and `cancel` actions:
    members of the booking's team, the environment's owners and release managers may."""

    serializer_class = s.BookingSerializer
    filter_backends = FILTERS
    filterset_class = BookingFilter
    ordering_fields = ["start", "end", "created_at"]
    ordering = ["start", "id"]
    lookup_value_regex = ID

    def get_queryset(self):
        return _bookings(self.request.user)

    def perform_create(self, serializer: s.BookingSerializer) -> None:
        serializer.instance = call_service(
            services.booking_create, actor=self.request.user, **serializer.validated_data
        )

    def _answer(self, looked_up: Booking, booking: Booking) -> Response:
        booking.release_visible = getattr(looked_up, "release_visible", True)
        return Response(self.get_serializer(booking).data)

    @extend_schema(
        request=s.ExtendSerializer,
        responses={200: s.BookingSerializer, **WRITE_ERRORS, **CONFLICT},
        examples=[ex.EXTEND, ex.EXTEND_CONFLICT],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def extend(self, request: Request, pk: str | None = None) -> Response:
        """Move the end of a confirmed or active booking: later (if nothing else is booked or
        in maintenance there; a 409 names what is) or earlier (the freed time goes to the
        waitlist)."""
        looked_up = self.get_object()
        serializer = s.ExtendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        booking = call_service(
            services.booking_extend,
            actor=request.user,
            booking=looked_up,
            end=serializer.validated_data["end"],
        )
        return self._answer(looked_up, booking)

    @extend_schema(
        request=None,
        responses={200: s.BookingSerializer, **WRITE_ERRORS, **CHANGED},
        examples=[ex.RELEASED],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def release(self, request: Request, pk: str | None = None) -> Response:
        """Give the rest of the booking back now (state `released_early`); the freed time goes
        to the waitlist. A booking that has not started yet is cancelled instead, so a
        pipeline's release never fails because its run was quick."""
        looked_up = self.get_object()
        booking = services.booking_release(actor=request.user, booking=looked_up)
        return self._answer(looked_up, booking)

    @extend_schema(request=None, responses={200: s.BookingSerializer, **WRITE_ERRORS, **CHANGED})
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Call the booking off (state `cancelled`); its time goes to the waitlist."""
        looked_up = self.get_object()
        booking = services.booking_cancel(actor=request.user, booking=looked_up)
        return self._answer(looked_up, booking)


# --- Waitlist -----------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        description="Queue a team for a slot another booking holds. When the slot frees up "
        "(cancel, early release, expiry), the first team in line gets a booking.",
        examples=[ex.WAITLIST_JOIN],
        responses={201: s.WaitlistEntrySerializer, **ERRORS},
    ),
)
class WaitlistViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The waitlist, first come first served per environment."""

    queryset = WaitlistEntry.objects.select_related(
        "environment", "team", "requested_by", "granted_booking"
    )
    serializer_class = s.WaitlistEntrySerializer
    filter_backends = FILTERS
    filterset_class = WaitlistFilter
    ordering_fields = ["created_at", "start"]
    ordering = ["created_at", "id"]
    lookup_value_regex = ID

    def perform_create(self, serializer: s.WaitlistEntrySerializer) -> None:
        serializer.instance = call_service(
            services.waitlist_join, actor=self.request.user, **serializer.validated_data
        )

    @extend_schema(
        request=None, responses={200: s.WaitlistEntrySerializer, **WRITE_ERRORS, **CHANGED}
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Leave the waitlist (only while waiting)."""
        entry = services.waitlist_withdraw(actor=request.user, entry=self.get_object())
        return Response(self.get_serializer(entry).data)


# --- Maintenance windows (deployments: ``deployment_views``) ----------------------------------


@extend_schema_view(
    create=extend_schema(
        description="Take an environment out of use for `[start, end)`: its owning team and "
        "release managers. Refused while a booking holds part of that time.",
        examples=[ex.MAINTENANCE],
        responses={201: s.MaintenanceWindowSerializer, **ERRORS},
    ),
    destroy=extend_schema(responses={204: None, **WRITE_ERRORS}),
)
class MaintenanceWindowViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Maintenance windows: nobody can book an environment while it is in maintenance."""

    queryset = MaintenanceWindow.objects.select_related("environment", "created_by")
    serializer_class = s.MaintenanceWindowSerializer
    filter_backends = FILTERS
    filterset_class = MaintenanceFilter
    ordering_fields = ["start", "end"]
    ordering = ["start", "id"]
    lookup_value_regex = ID

    def perform_create(self, serializer: s.MaintenanceWindowSerializer) -> None:
        serializer.instance = call_service(
            services.maintenance_window_create,
            actor=self.request.user,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: MaintenanceWindow) -> None:
        services.maintenance_window_delete(actor=self.request.user, window=instance)


# --- The deploy check ---------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        description="Ask before deploying: 200 when the release may deploy to the environment, "
        "409 naming each blocking gate when it may not. Production environments need the "
        "verdict GO; others take any build and answer 200 with the verdict for information. "
        "A pipeline step is one `curl --fail`.",
        examples=[ex.DEPLOY_CHECK, ex.DEPLOY_CHECK_BY_VERSION],
        responses={
            200: s.DeployCheckSerializer,
            400: ERRORS[400],
            403: ERRORS[403],
            409: OpenApiResponse(
                s.DeployCheckSerializer, description="Not GO: `detail` names what blocks."
            ),
        },
    ),
)
class DeployCheckViewSet(viewsets.GenericViewSet):
    """GO / NO-GO for a deploy job (`POST /api/v1/deploy-checks/`)."""

    serializer_class = s.DeployCheckInputSerializer

    def create(self, request: Request) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        release = data.validated_data["release"]
        environment = data.validated_data["environment"]
        readiness = gates.readiness(release, user=request.user)
        required = environment.kind == EnvironmentKind.PROD
        verdict = readiness.verdict
        metrics.verdict_answered(verdict, source="deploy_check")
        blocking = readiness.blocking() if required else []
        if blocking:
            reasons = "; ".join(f"{row.gate.label}: {row.result.reason}" for row in blocking)
            detail = f"{release.name} is {verdict} for {environment.slug}: {reasons}."
        elif required:
            detail = f"{release.name} is GO for {environment.slug}."
        else:
            detail = (
                f"{environment.slug} takes any build; {release.name} is {verdict} for production."
            )
        answer = {
            "detail": detail,
            "environment": environment.slug,
            "required": required,
            "readiness": readiness,
        }
        code = status.HTTP_409_CONFLICT if blocking else status.HTTP_200_OK
        return Response(s.DeployCheckSerializer(answer).data, status=code)
