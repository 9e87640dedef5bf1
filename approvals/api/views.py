"""Approvals API views, thin over ``approvals.selectors`` and ``approvals.services``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import selectors, services
from approvals.filters import AuditEventFilter, SignOffFilter
from approvals.models import AuditEvent, SignOff
from relcal.api.filters import FilterBackend
from releases import permissions as release_perms
from releases.models import Release

from .serializers import (
    ApprovalStatusSerializer,
    AuditEventSerializer,
    PendingSerializer,
    SignOffInputSerializer,
    SignOffSerializer,
)


def _freshness(signoffs: list[SignOff]) -> dict[int, tuple[bool, bool]]:
    """sign-off id → (stale, superseded), from the releases of ``signoffs`` (fixed queries)."""
    ids = {s.release_id for s in signoffs}
    out = {}
    for release in selectors.with_approval_data(Release.objects.filter(pk__in=ids)):
        for signoff in selectors.approval_status(release).signoffs:
            out[signoff.pk] = (signoff.stale, signoff.superseded)
    return out


class SignOffViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Sign-offs: never changed or deleted; a newer decision by the same signer supersedes."""

    serializer_class = SignOffSerializer
    filterset_class = SignOffFilter
    # The project's backend: NUL characters and out-of-range times are 400s, not 500s.
    filter_backends = [FilterBackend]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular builds the schema
            return SignOff.objects.none()
        user = self.request.user
        queryset = SignOff.objects.select_related("release", "signer").order_by("-signed_at", "-id")
        if selectors.can_see_evidence(user):
            return queryset
        if selectors.signing_group_ids(user):
            return queryset.filter(signer=user)
        raise PermissionDenied("Only approvers, auditors and release managers see sign-offs.")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["freshness"] = getattr(self, "_freshness_map", {})
        return context

    def list(self, request: Request, *args, **kwargs) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        self._freshness_map = _freshness(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        signoff = self.get_object()
        self._freshness_map = _freshness([signoff])
        return Response(self.get_serializer(signoff).data)

    @extend_schema(
        request=SignOffInputSerializer,
        responses={201: SignOffSerializer},
        examples=[
            OpenApiExample(
                "Approve as product",
                request_only=True,
                value={
                    "release": 12,
                    "role": "product",
                    "decision": "approve",
                    "meaning": "approved_for_release",
                    "password": "…",
                },
            ),
            OpenApiExample(
                "Reject (a comment is required)",
                request_only=True,
                value={
                    "release": 12,
                    "role": "security",
                    "decision": "reject",
                    "meaning": "not_approved",
                    "comment": "Pen test findings still open.",
                    "password": "…",
                },
            ),
        ],
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = SignOffInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        signoff = services.signoff_record(actor=request.user, **data.validated_data)
        self._freshness_map = {signoff.pk: (False, False)}
        return Response(self.get_serializer(signoff).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: PendingSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def pending(self, request: Request) -> Response:
        """Release × role pairs waiting for your sign-off (yours went stale, or none yet)."""
        if not selectors.signing_group_ids(request.user):
            raise PermissionDenied("Only approvers have sign-offs to give.")
        return Response(PendingSerializer(selectors.pending_for(request.user), many=True).data)


class ApprovalStatusViewSet(viewsets.GenericViewSet):
    """Where a release stands with its sign-offs: per role, what counts, blocks or is stale."""

    serializer_class = ApprovalStatusSerializer
    lookup_value_regex = r"[0-9]+"
    queryset = Release.objects.none()

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        release = get_object_or_404(selectors.with_approval_data(Release.objects.all()), pk=pk)
        user = request.user
        allowed = (
            selectors.can_see_evidence(user)
            or bool(selectors.signing_group_ids(user))
            or release.manager_id == user.pk
            or release_perms.is_team_member(user, release.team)
        )
        if not allowed:
            raise PermissionDenied(
                "Only approvers, auditors, release managers and the release's team see this."
            )
        return Response(ApprovalStatusSerializer(selectors.approval_status(release)).data)


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, oldest first; page through it with ``seq_after``."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    # The project's backend: NUL characters and out-of-range times are 400s, not 500s.
    filter_backends = [FilterBackend]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        if not selectors.can_see_evidence(self.request.user):
            raise PermissionDenied("Only auditors, superusers and release managers see the trail.")
        return AuditEvent.objects.order_by("seq")
