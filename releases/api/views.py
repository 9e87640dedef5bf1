"""Release planning API: viewsets thin over ``releases.selectors`` and ``releases.services``.

Reads are open to any authenticated user. Writes hand the validated input to a service with
``actor=request.user``; the service checks permissions (``PermissionDenied`` becomes a 403) and
the domain rules (``ValidationError`` becomes a 400 naming the field), and writes nothing when
it refuses.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from relcal.api.filters import FILTERS
from relcal.api.views import ERRORS, ID, NO_PUT, NOT_FOUND, SLUG, WRITE_ERRORS, call_service
from releases import gates, metrics, selectors, services
from releases.filters import (
    DependencyFilter,
    FreezeWindowFilter,
    MilestoneFilter,
    ReleaseFilter,
    ScopeItemFilter,
)
from releases.models import FreezeWindow, Milestone, ReleaseDependency, ScopeItem, Team

from . import serializers as s


@extend_schema_view(create=extend_schema(responses={201: s.TeamSerializer, **ERRORS}))
class TeamViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Teams own releases. Anyone signed in may read them, except a private team, which only
    its members, release managers and auditors see (to others it is missing, as its releases
    are); administrators create them."""

    queryset = Team.objects.prefetch_related("members")
    serializer_class = s.TeamSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG
    filter_backends = FILTERS
    ordering_fields = ["name", "slug"]

    def get_queryset(self):
        return selectors.visible_teams(self.request.user).prefetch_related("members")

    def perform_create(self, serializer: s.TeamSerializer) -> None:
        serializer.instance = call_service(
            services.team_create, actor=self.request.user, **serializer.validated_data
        )


RELEASE_EXAMPLE = OpenApiExample(
    "Plan a release",
    request_only=True,
    value={
        "name": "Payments 4.3",
        "version": "4.3",
        "team": "payments",
        "go_live": "2026-12-01T14:00:00+01:00",
        "window_end": "2026-12-01T16:00:00+01:00",
        "strategy": "blue_green",
        "rollback_plan": "Switch the router back to blue.",
    },
)
FREEZE_OVERRIDE_EXAMPLE = OpenApiExample(
    "Go-live inside a freeze (needs the override permission)",
    request_only=True,
    value={
        "name": "Payments 4.3.1",
        "version": "4.3.1",
        "team": "payments",
        "go_live": "2026-12-28T10:00:00Z",
        "freeze_override_reason": "Card scheme mandate due 2027-01-01.",
    },
)


@extend_schema_view(
    create=extend_schema(
        examples=[RELEASE_EXAMPLE, FREEZE_OVERRIDE_EXAMPLE],
        responses={201: s.ReleaseSerializer, **ERRORS},
    ),
    partial_update=extend_schema(responses={200: s.ReleaseSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(
        description="Deletes a draft or cancelled release; cancel it first otherwise.",
        responses={204: None, **WRITE_ERRORS},
    ),
)
class ReleaseViewSet(viewsets.ModelViewSet):
    """Releases, with the summary CI pipelines need: team, manager, state and what comes next.

    Change the state with the `transition` action, not by PATCH.
    """

    serializer_class = s.ReleaseSerializer
    filter_backends = FILTERS
    filterset_class = ReleaseFilter
    ordering_fields = ["go_live", "name", "version", "state", "created_at", "updated_at"]
    lookup_value_regex = ID
    http_method_names = NO_PUT

    def get_queryset(self):
        # Releases the user may not see answer 404 on every action, reads and writes alike.
        return selectors.visible_releases(self.request.user)

    def perform_create(self, serializer: s.ReleaseSerializer) -> None:
        serializer.instance = call_service(
            services.release_create, actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: s.ReleaseSerializer) -> None:
        serializer.instance = call_service(
            services.release_update,
            actor=self.request.user,
            release=serializer.instance,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance) -> None:
        services.release_delete(actor=self.request.user, release=instance)

    @extend_schema(
        request=s.TransitionInputSerializer,
        responses={201: s.ReleaseTransitionSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Freeze the scope", request_only=True, value={"to_state": "scope_frozen"}
            ),
            OpenApiExample(
                "Cancel (a reason is required)",
                request_only=True,
                value={"to_state": "cancelled", "reason": "Superseded by 4.4."},
            ),
            OpenApiExample(
                "Refused",
                response_only=True,
                status_codes=["400"],
                value={
                    "to_state": [
                        "A release in state Draft cannot move to Released. "
                        "Allowed next states: Planned, Cancelled."
                    ]
                },
            ),
        ],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        """Move the release to its next lifecycle state; a refusal names the allowed ones."""
        release = self.get_object()
        serializer = s.TransitionInputSerializer(
            data=request.data, context={**self.get_serializer_context(), "release": release}
        )
        serializer.is_valid(raise_exception=True)
        step = services.release_transition(
            actor=request.user, release=release, **serializer.validated_data
        )
        return Response(s.ReleaseTransitionSerializer(step).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ScopeProgressInputSerializer,
        responses={200: s.ScopeProgressSerializer(many=True), **WRITE_ERRORS},
        examples=[
            OpenApiExample("Done", request_only=True, value={"ticket_key": "PAY-12", "done": True}),
            OpenApiExample(
                "Blocks the release",
                request_only=True,
                value={"ticket_key": "PAY-12", "blocker": True},
            ),
            OpenApiExample(
                "Unknown ticket",
                response_only=True,
                status_codes=["400"],
                value={
                    "ticket_key": ["No scope item of Payments 4.3 has the ticket key “PAY-99”."]
                },
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="scope-progress", filter_backends=[])
    def scope_progress(self, request: Request, pk: str | None = None) -> Response:
        """Set `done` and/or `blocker` on every scope item of the release with a ticket key, from
        a tracker or CI: allowed also once the scope is frozen (progress is not what approvers
        sign), refused once the release is released or cancelled. Answers the items."""
        release = self.get_object()
        serializer = s.ScopeProgressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = services.scope_item_set_progress(
            actor=request.user, release=release, **serializer.validated_data
        )
        return Response(s.ScopeProgressSerializer(items, many=True).data)

    @extend_schema(responses={200: s.ReadinessSerializer, **NOT_FOUND})
    @action(detail=True, methods=["get"], filter_backends=[])
    def readiness(self, request: Request, pk: str | None = None) -> Response:
        """Is this release ready to ship? The verdict (GO, NO-GO, PENDING) with every gate:
        its state, why, and where to look. Approved needs the gates not about the deployment;
        deploying needs GO."""
        release = self.get_object()
        readiness = gates.readiness(release, user=request.user)
        metrics.verdict_answered(readiness.verdict, source="readiness_api")
        return Response(s.ReadinessSerializer(readiness).data)

    @extend_schema(responses={200: s.ReleaseTransitionSerializer(many=True), **NOT_FOUND})
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def transitions(self, request: Request, pk: str | None = None) -> Response:
        """The release's lifecycle history, oldest first: who moved it, when, and why."""
        release = self.get_object()
        steps = release.transitions.select_related("actor").order_by("at", "id")
        return Response(s.ReleaseTransitionSerializer(steps, many=True).data)


@extend_schema_view(
    create=extend_schema(responses={201: s.MilestoneSerializer, **ERRORS}),
    partial_update=extend_schema(responses={200: s.MilestoneSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(responses={204: None, **WRITE_ERRORS}),
)
class MilestoneViewSet(viewsets.ModelViewSet):
    """Dated steps before a go-live: all-day (`date`) or at a time (`at`), never after go-live."""

    queryset = Milestone.objects.select_related("release")

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .filter(selectors.visible_release_q(self.request.user, "release__"))
        )

    serializer_class = s.MilestoneSerializer
    filter_backends = FILTERS
    filterset_class = MilestoneFilter
    ordering_fields = ["date", "at", "id"]
    lookup_value_regex = ID
    http_method_names = NO_PUT

    def perform_create(self, serializer: s.MilestoneSerializer) -> None:
        serializer.instance = call_service(
            services.milestone_create, actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: s.MilestoneSerializer) -> None:
        serializer.instance = call_service(
            services.milestone_update,
            actor=self.request.user,
            milestone=serializer.instance,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Milestone) -> None:
        services.milestone_delete(actor=self.request.user, milestone=instance)


@extend_schema_view(
    create=extend_schema(responses={201: s.ScopeItemSerializer, **ERRORS}),
    partial_update=extend_schema(responses={200: s.ScopeItemSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(responses={204: None, **WRITE_ERRORS}),
)
class ScopeItemViewSet(viewsets.ModelViewSet):
    """What a release ships. Read-only once the scope is frozen, until moved back to Planned."""

    queryset = ScopeItem.objects.select_related("release__team", "owner")

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .filter(selectors.visible_release_q(self.request.user, "release__"))
        )

    serializer_class = s.ScopeItemSerializer
    filter_backends = FILTERS
    filterset_class = ScopeItemFilter
    ordering_fields = ["id", "title", "kind", "ticket_key"]
    lookup_value_regex = ID
    http_method_names = NO_PUT

    def perform_create(self, serializer: s.ScopeItemSerializer) -> None:
        serializer.instance = call_service(
            services.scope_item_create, actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: s.ScopeItemSerializer) -> None:
        serializer.instance = call_service(
            services.scope_item_update,
            actor=self.request.user,
            item=serializer.instance,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: ScopeItem) -> None:
        services.scope_item_delete(actor=self.request.user, item=instance)


@extend_schema_view(
    create=extend_schema(responses={201: s.DependencySerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **WRITE_ERRORS}),
)
class DependencyViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """ "A needs B shipped first" or "A and B ship together"; a link that would close a cycle is
    refused with the whole cycle named. To change one, delete it and create another."""

    queryset = ReleaseDependency.objects.select_related("release", "depends_on")

    def get_queryset(self):
        user = self.request.user
        return (
            super()
            .get_queryset()
            .filter(selectors.visible_release_q(user, "release__"))
            .filter(selectors.visible_release_q(user, "depends_on__"))
        )

    serializer_class = s.DependencySerializer
    filter_backends = FILTERS
    filterset_class = DependencyFilter
    ordering_fields = ["id", "created_at"]
    lookup_value_regex = ID

    def perform_create(self, serializer: s.DependencySerializer) -> None:
        serializer.instance = call_service(
            services.dependency_create, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: ReleaseDependency) -> None:
        services.dependency_delete(actor=self.request.user, dependency=instance)


@extend_schema_view(
    create=extend_schema(responses={201: s.FreezeWindowSerializer, **ERRORS}),
    partial_update=extend_schema(responses={200: s.FreezeWindowSerializer, **WRITE_ERRORS}),
    destroy=extend_schema(responses={204: None, **WRITE_ERRORS}),
)
class FreezeWindowViewSet(viewsets.ModelViewSet):
    """Blackouts `[start, end)` in which no go-live may be scheduled, for all or one team."""

    queryset = FreezeWindow.objects.select_related("team")

    def get_queryset(self):
        return selectors.visible_freeze_windows(self.request.user, super().get_queryset())

    serializer_class = s.FreezeWindowSerializer
    filter_backends = FILTERS
    filterset_class = FreezeWindowFilter
    ordering_fields = ["start", "end", "name"]
    lookup_value_regex = ID
    http_method_names = NO_PUT

    def perform_create(self, serializer: s.FreezeWindowSerializer) -> None:
        serializer.instance = call_service(
            services.freeze_window_create, actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: s.FreezeWindowSerializer) -> None:
        serializer.instance = call_service(
            services.freeze_window_update,
            actor=self.request.user,
            freeze=serializer.instance,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: FreezeWindow) -> None:
        services.freeze_window_delete(actor=self.request.user, freeze=instance)
