"""Approvals API views, thin over ``approvals.selectors`` and ``approvals.services``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Max, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.relations import PrimaryKeyRelatedField
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from approvals import selectors, services
from approvals.filters import AuditEventFilter, SignOffFilter
from approvals.models import AuditEvent, CheckReport, ReleaseCandidate, SignOff, Waiver
from approvals.readiness import services as readiness
from relcal.api.filters import FilterBackend
from relcal.api.parsers import JSONParser
from relcal.api.views import ID, LOCKED, NOT_FOUND, ROLE_ONLY, WRITE_ERRORS, call_service
from releases import permissions as release_perms
from releases.models import Release
from releases.selectors import visible_release_q, visible_releases

from .serializers import (
    ApprovalStatusSerializer,
    AuditEventSerializer,
    CandidateDetailSerializer,
    CandidateInputSerializer,
    CandidateSerializer,
    CheckInputSerializer,
    CheckReportSerializer,
    PendingPageSerializer,
    PendingQuerySerializer,
    PendingSerializer,
    SignOffInputSerializer,
    SignOffSerializer,
    WaiverInputSerializer,
    WaiverSerializer,
)


def _freshness(signoffs: list[SignOff]) -> dict[int, tuple[bool, bool]]:
    """sign-off id → (stale, superseded), from the releases of ``signoffs`` (fixed queries)."""
    ids = {s.release_id for s in signoffs}
    out = {}
    for release in selectors.with_approval_data(Release.objects.filter(pk__in=ids)):
        for signoff in selectors.approval_status(release).signoffs:
            out[signoff.pk] = (signoff.stale, signoff.superseded)
    return out


@extend_schema_view(
    list=extend_schema(responses={200: SignOffSerializer(many=True), **ROLE_ONLY}),
    retrieve=extend_schema(responses={200: SignOffSerializer, **ROLE_ONLY}),
)
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
        responses={201: SignOffSerializer, **LOCKED},
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
        release = data.validated_data["release"]
        if not selectors.may_see_release(request.user, release):
            # Answered as for a missing id, so that the refusal names nothing private.
            missing = PrimaryKeyRelatedField.default_error_messages["does_not_exist"]
            raise ValidationError(
                {"release": [missing.format(pk_value=release.pk)]}, code="does_not_exist"
            )
        signoff = services.signoff_record(
            actor=request.user, request=request, **data.validated_data
        )
        self._freshness_map = {signoff.pk: (False, False)}
        return Response(self.get_serializer(signoff).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[PendingQuerySerializer],
        responses={200: PendingPageSerializer, **ROLE_ONLY},
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def pending(self, request: Request) -> Response:
        """Release × role pairs waiting for your sign-off (yours went stale, or none yet), soonest
        go-live first, a page at a time (`page`, `page_size`: 50 by default, at most 500)."""
        if not selectors.signing_group_ids(request.user):
            raise PermissionDenied("Only approvers have sign-offs to give.")
        query = PendingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        number, size = query.validated_data["page"], query.validated_data["page_size"]
        items, more = selectors.pending_page(request.user, page=number, size=size)
        url = request.build_absolute_uri()
        return Response(
            {
                "next": replace_query_param(url, "page", number + 1) if more else None,
                "previous": replace_query_param(url, "page", number - 1) if number > 1 else None,
                "results": PendingSerializer(items, many=True).data,
            }
        )


@extend_schema_view(
    retrieve=extend_schema(responses={200: ApprovalStatusSerializer, **ROLE_ONLY}),
)
class ApprovalStatusViewSet(viewsets.GenericViewSet):
    """Where a release stands with its sign-offs: per role, what counts, blocks or is stale."""

    serializer_class = ApprovalStatusSerializer
    lookup_value_regex = r"[0-9]+"
    queryset = Release.objects.none()

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        release = get_object_or_404(selectors.with_approval_data(Release.objects.all()), pk=pk)
        user = request.user
        if not selectors.may_see_release(user, release):
            # The same answer as a missing release: ids of private releases cannot be probed.
            raise Http404("No Release matches the given query.")
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


@extend_schema_view(
    list=extend_schema(responses={200: AuditEventSerializer(many=True), **ROLE_ONLY}),
    retrieve=extend_schema(responses={200: AuditEventSerializer, **ROLE_ONLY}),
)
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


# --- Readiness: candidates, checks, waivers ------------------------------------------------------

CONFLICT = {
    409: OpenApiResponse(description="Conflicts with the current state; `detail` says how.")
}


def _visible_candidates(user):
    return ReleaseCandidate.objects.filter(visible_release_q(user, "release__")).select_related(
        "release", "reported_by"
    )


def _newest_ids(release_ids) -> set[int]:
    return set(
        ReleaseCandidate.objects.filter(release_id__in=release_ids)
        .values("release_id")
        .annotate(newest=Max("id"))
        .values_list("newest", flat=True)
    )


CANDIDATE_EXAMPLE = OpenApiExample(
    "CI reports a build",
    request_only=True,
    value={
        "version": "4.3.0-rc.2",
        "commit_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "artifact_digest": "sha256:" + "ab12" * 16,
        "build_url": "https://ci.example.com/payments/builds/812",
        "commits": {"first": "2026-11-20T09:12:00Z", "last": "2026-11-27T16:40:00Z"},
    },
)


@extend_schema_view(
    list=extend_schema(responses={200: CandidateSerializer(many=True), **NOT_FOUND}),
    create=extend_schema(
        request=CandidateInputSerializer,
        examples=[CANDIDATE_EXAMPLE],
        responses={201: CandidateSerializer, **WRITE_ERRORS, **CONFLICT},
    ),
)
class ReleaseCandidateViewSet(viewsets.GenericViewSet):
    """The builds of one release, newest last: CI reports each one here. The newest is the
    current candidate; approvals and waivers are bound to it."""

    serializer_class = CandidateSerializer
    queryset = ReleaseCandidate.objects.none()  # for the schema; the release scopes the rows
    pagination_class = None

    def _release(self) -> Release:
        releases = visible_releases(self.request.user, Release.objects.select_related("team"))
        return get_object_or_404(releases, pk=self.kwargs["release_pk"])

    def list(self, request: Request, release_pk: str) -> Response:
        release = self._release()
        candidates = list(release.candidates.select_related("reported_by").order_by("id"))
        current = {candidates[-1].pk} if candidates else set()
        data = CandidateSerializer(candidates, many=True, context={"current_ids": current}).data
        return Response(data)

    def create(self, request: Request, release_pk: str) -> Response:
        release = self._release()
        data = CandidateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        commits = fields.pop("commits", None) or {}
        candidate = call_service(
            readiness.candidate_report,
            actor=request.user,
            release=release,
            first_commit_at=commits.get("first"),
            last_commit_at=commits.get("last"),
            **fields,
        )
        context = {"current_ids": {candidate.pk}}
        return Response(
            CandidateSerializer(candidate, context=context).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    retrieve=extend_schema(responses={200: CandidateDetailSerializer, **NOT_FOUND}),
)
class CandidateViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One build with every check report; report checks to the current one."""

    serializer_class = CandidateDetailSerializer
    lookup_value_regex = ID

    def get_queryset(self):
        return _visible_candidates(self.request.user).prefetch_related(
            Prefetch("checks", queryset=CheckReport.objects.select_related("reported_by"))
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "pk" in self.kwargs and self.kwargs["pk"].isdigit():
            release_ids = self.get_queryset().filter(pk=self.kwargs["pk"]).values("release_id")
            context["current_ids"] = _newest_ids(release_ids)
        return context

    @extend_schema(
        request={
            "application/json": CheckInputSerializer,
            "multipart/form-data": CheckInputSerializer,
        },
        responses={201: CheckReportSerializer, **WRITE_ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "A check result",
                request_only=True,
                value={
                    "name": "integration-tests",
                    "status": "failed",
                    "url": "https://ci.example.com/payments/builds/812#tests",
                    "summary": "3 of 412 failed",
                },
            )
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[JSONParser, MultiPartParser],
        filter_backends=[],
    )
    def checks(self, request: Request, pk: str | None = None) -> Response:
        """Report a check on this candidate: a status, or a JUnit XML or SARIF file (multipart,
        fields `junit` or `sarif`) from which the status and counts are read. A re-run reports
        the same name again; the latest counts."""
        candidate = self.get_object()
        data = CheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        kind = next((kind for kind in ("junit", "sarif") if fields.get(kind)), None)
        if kind:
            report = readiness.check_report_file(
                actor=request.user,
                candidate=candidate,
                name=fields["name"],
                kind=kind,
                upload=fields[kind],
                url=fields.get("url", ""),
            )
        else:
            report = readiness.check_report(actor=request.user, candidate=candidate, **fields)
        return Response(CheckReportSerializer(report).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    create=extend_schema(
        request=WaiverInputSerializer,
        responses={201: WaiverSerializer, **WRITE_ERRORS, **CONFLICT, **LOCKED},
    ),
)
class WaiverViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Waivers: a failing gate let through for one candidate by the change advisory board,
    signed with the password and a reason. A new candidate needs its own."""

    serializer_class = WaiverSerializer

    def get_queryset(self):
        return (
            Waiver.objects.filter(visible_release_q(self.request.user, "candidate__release__"))
            .select_related("candidate")
            .order_by("-signed_at", "-id")
        )

    def create(self, request: Request) -> Response:
        data = WaiverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        # The same 404 for a candidate that does not exist and one the user may not see.
        candidate = get_object_or_404(_visible_candidates(request.user), pk=fields.pop("candidate"))
        waiver = readiness.waiver_record(
            actor=request.user, request=request, candidate=candidate, **fields
        )
        return Response(WaiverSerializer(waiver).data, status=status.HTTP_201_CREATED)
