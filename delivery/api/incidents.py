"""The incidents API, and the inbound webhook on-call tools deliver incidents to.

- ``/incidents/``: ``GET`` list (filters `team`, `service`, `open`, `caused_by_change`, …) and
  detail; ``POST`` opens one (idempotent by `external_id`: 201 when new, 200 with the stored one
  updated when sent again); ``PATCH`` resolves, reopens, names or clears the cause; ``DELETE``
  (release managers). Only incidents the reader may see are listed, a private team's are a 404
  by path; lists run a fixed number of queries.
- ``/incident-sources/{slug}/events/``: ``POST`` from a tool (PagerDuty webhooks v3, or the
  generic JSON shape), authenticated only by the source's signature (no session, no token, no
  CSRF): 401 when it does not match, 404 for an unknown source, 400 naming the field, 201/200
  when an incident was opened/updated, 202 for events that record nothing.
"""

from __future__ import annotations

from functools import partial

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from relcal import audit
from relcal.api.filters import FILTERS
from relcal.api.views import ERRORS, ID, NO_PUT, NOT_FOUND, SLUG, WRITE_ERRORS, call_service
from relcal.db import reread

from .. import incidents, selectors, webhooks
from ..filters import IncidentFilter
from ..models import Incident, IncidentSource
from . import incident_examples as ex
from . import incident_serializers as s


@extend_schema_view(
    list=extend_schema(
        description="Incidents you may see, newest first. Filters: `team` (its services, or "
        "caused by its changes), `service`, `open`, `caused_by_change`, `severity`, `source`, "
        "`opened_after`, `opened_before`."
    ),
    partial_update=extend_schema(
        request=s.IncidentUpdateSerializer,
        responses={200: s.IncidentSerializer, **WRITE_ERRORS},
        examples=[ex.RESOLVE, ex.CAUSE],
        description="Resolve (`resolved_at`), reopen (`resolved_at: null`), name or clear the "
        "cause (`deployment`, `release`), or change the title, severity, services, link or "
        "opening time. Members of the team of one of its services, release managers and SRE; "
        "naming a cause also needs the right over that change (its team, release managers, "
        "SRE): 403 otherwise.",
    ),
    destroy=extend_schema(
        description="Delete an incident reported by mistake: release managers only.",
        responses={204: None, **WRITE_ERRORS},
    ),
)
class IncidentViewSet(viewsets.ModelViewSet):
    """Incidents: title, severity, the services they affect, opened and resolved times, the
    link to the tool they live in, and the production change (deployment or release) that
    caused them when known."""

    serializer_class = s.IncidentSerializer
    filter_backends = FILTERS
    filterset_class = IncidentFilter
    ordering_fields = ["opened_at", "resolved_at", "severity"]
    ordering = ["-opened_at", "-id"]
    lookup_value_regex = ID
    http_method_names = NO_PUT

    def get_queryset(self):
        return selectors.incident_list(self.request.user)

    def _answer(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        shown = reread(self.get_queryset(), incident.pk)
        return Response(self.get_serializer(shown).data, status=code)

    @extend_schema(
        request=s.IncidentOpenSerializer,
        responses={201: s.IncidentSerializer, 200: s.IncidentSerializer, **ERRORS},
        examples=[ex.OPEN, ex.OPEN_WITH_CAUSE],
    )
    def create(self, request: Request) -> Response:
        """Open an incident on one or more services: members of a team of one of them,
        release managers and SRE. With an `external_id` sent before, the stored incident is
        updated (title, severity, link, services, resolution, cause: each when given) and
        answered with 200; a new one with 201."""
        data = s.IncidentOpenSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if fields["opened_at"] is None:
            fields["opened_at"] = timezone.now()
        incident = call_service(incidents.incident_open, actor=request.user, **fields)
        return self._answer(incident, status.HTTP_201_CREATED if incident.created else 200)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        data = s.IncidentUpdateSerializer(
            data=request.data, partial=True, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        update = partial(incidents.incident_update, incident=incident)
        incident = call_service(update, actor=request.user, **data.validated_data)
        return self._answer(incident)

    def perform_destroy(self, instance: Incident) -> None:
        incidents.incident_delete(actor=self.request.user, incident=instance)


@extend_schema_view(
    events=extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        auth=[],
        examples=[ex.PAGERDUTY_TRIGGERED, ex.GENERIC],
        responses={
            201: OpenApiResponse(s.WebhookAnswerSerializer, description="Incident opened."),
            200: OpenApiResponse(s.WebhookAnswerSerializer, description="Incident updated."),
            202: OpenApiResponse(
                s.WebhookAnswerSerializer, description="Accepted; nothing to record."
            ),
            400: OpenApiResponse(description="Invalid; the body names the field."),
            401: OpenApiResponse(description="Signature missing or not matching."),
            **NOT_FOUND,
        },
    )
)
class IncidentSourceViewSet(viewsets.ViewSet):
    """Inbound webhooks of on-call tools (incident sources are set up in the admin)."""

    lookup_field = "slug"
    lookup_value_regex = SLUG

    @action(
        detail=True,
        methods=["post"],
        authentication_classes=[],
        permission_classes=[AllowAny],
        parser_classes=[],
    )
    def events(self, request: Request, slug: str | None = None) -> Response:
        """Receive one delivery from the source's tool. PagerDuty (webhooks v3) signs it in
        `X-PagerDuty-Signature` (`v1=<hex HMAC-SHA256 of the body>`, several during a secret
        rotation), the generic shape in `X-Relcal-Signature` (`sha256=<hex>`); a delivery
        sent again updates the same incident (by the tool's incident id)."""
        source = IncidentSource.objects.filter(slug=slug).first()
        if source is None:
            return Response({"detail": "No such incident source."}, status=404)
        header = request.headers.get(webhooks.SIGNATURE_HEADER[source.kind])
        where = audit.current_origin()
        # The source acts, not whoever may be signed in to this browser: no user is recorded.
        with audit.origin(request_id=where.request_id, client_address=where.client_address):
            try:
                received = webhooks.receive(source, request.body, header)
            except webhooks.Refused as refused:
                headers = {}
                if refused.status == 401:
                    name = webhooks.SIGNATURE_HEADER[source.kind]
                    headers["WWW-Authenticate"] = f'HMAC-SHA256 header="{name}"'
                return Response(refused.detail, status=refused.status, headers=headers)
        answer = {"result": received.result, "incident": None, "detail": received.detail}
        if received.incident is not None:
            answer["incident"] = received.incident.pk
        return Response(answer, status=received.status)
