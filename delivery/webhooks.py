"""Inbound incident webhooks: what on-call tools send, verified by each source's signing secret
and turned into ``delivery.incidents`` calls.

Two shapes (``IncidentSource.kind``):

- ``pagerduty``: PagerDuty's webhooks v3 (one event per delivery, ``{"event": {"event_type",
  "occurred_at", "data": {incident}}}``), signed in ``X-PagerDuty-Signature`` as
  ``v1=<hex HMAC-SHA256 of the raw body>``, several comma-separated while a secret is being
  rotated (any one matching is enough). ``incident.triggered`` opens, ``incident.resolved``
  resolves (at ``occurred_at``), ``incident.reopened`` reopens and ``incident.priority_updated``
  updates the severity; ``pagey.ping`` and every other event type is acknowledged (202) and
  stored nowhere. The incident's PagerDuty ``id`` is its external id, ``created_at`` its opening
  time, ``html_url`` its link; the severity comes from the priority (P1 → SEV1, P2 → SEV2,
  P3 → SEV3, P4 and P5 → SEV4) or, without one, the urgency (high → SEV2, low → SEV3). The
  PagerDuty service names the Relcal service: by slug (``Payments API`` → ``payments-api``, or
  the PagerDuty service id), or by name; one matching none is filed under the source's default
  services, and with no defaults the delivery is refused (400), saying so.
- ``generic``: ``{"id", "title", "severity", "status": "open"|"resolved", "opened_at",
  "resolved_at", "url", "services": [slugs], "deployment": id, "release": id}``, signed in
  ``X-Relcal-Signature`` as ``sha256=<hex HMAC-SHA256 of the raw body>``.

A delivery whose signature does not match (or that has none) is refused before its body is read:
401, nothing stored. Deliveries are idempotent by the incident's id (a tool retries, PagerDuty
delivers at least once): a repeat updates the stored incident, never adds a second one, and a
repeated "open" never reopens a resolved incident.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from environments.models import Deployment
from relcal import metrics
from relcal.times import OUT_OF_RANGE, in_range
from releases.models import Release
from reliability.models import Service

from . import incidents
from .models import Incident, IncidentSource, Severity, SourceKind

# PagerDuty delivers at most 256 KB (larger webhooks are dropped on its side).
MAX_BODY = 256 * 1024
SIGNATURE_HEADER = {
    SourceKind.PAGERDUTY: "X-PagerDuty-Signature",
    SourceKind.GENERIC: "X-Relcal-Signature",
}
SIGNATURE_PREFIX = {SourceKind.PAGERDUTY: "v1=", SourceKind.GENERIC: "sha256="}

PAGERDUTY_PRIORITY = {"P1": Severity.SEV1, "P2": Severity.SEV2, "P3": Severity.SEV3}
PAGERDUTY_PRIORITY |= {"P4": Severity.SEV4, "P5": Severity.SEV4}
PAGERDUTY_URGENCY = {"high": Severity.SEV2, "low": Severity.SEV3}
PAGERDUTY_EVENTS = (
    "incident.triggered",
    "incident.resolved",
    "incident.reopened",
    "incident.priority_updated",
)
# The generic shape's severities: Relcal's own, and the words tools use for them.
SEVERITY_WORDS = {
    **{value: value for value in Severity.values},
    "critical": Severity.SEV1,
    "major": Severity.SEV2,
    "high": Severity.SEV2,
    "minor": Severity.SEV3,
    "medium": Severity.SEV3,
    "low": Severity.SEV4,
}
STATUSES = ("open", "resolved")
# Deployments with what the cause checks read.
CAUSES = Deployment.objects.select_related("environment__owner_team", "release__team")

DELIVERIES = metrics.counter(
    "relcal_incident_webhook_deliveries",
    "Inbound incident webhook deliveries, by source and result (created, updated, ignored, "
    "bad_signature, invalid).",
    ["source", "result"],
)


class Refused(Exception):
    """A delivery refused as a whole: ``status`` (400, 401, 413) and the answer's body."""

    def __init__(self, status: int, detail: dict[str, Any]) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Received:
    result: str  # created, updated or ignored
    incident: Incident | None = None
    detail: str = ""

    @property
    def status(self) -> int:
        return {"created": 201, "updated": 200}.get(self.result, 202)


# --- Signatures ------------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` with ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_header(source: IncidentSource, body: bytes) -> str:
    """The signature header's value a tool sends for ``body`` (``v1=…`` or ``sha256=…``)."""
    return SIGNATURE_PREFIX[source.kind] + signature(source.secret, body)


def verify(source: IncidentSource, body: bytes, header: str | None) -> bool:
    """Whether one of the comma-separated signatures in ``header`` is the body's, compared in
    constant time. Signatures of another scheme (``v2=…``) are skipped, not failed."""
    if not header:
        return False
    prefix = SIGNATURE_PREFIX[source.kind]
    expected = signature(source.secret, body)
    given = [part.strip() for part in header.split(",")]
    candidates = [part[len(prefix) :].lower() for part in given if part.startswith(prefix)]
    # Every candidate is compared (no early exit), so the time taken tells nothing.
    matches = [hmac.compare_digest(candidate, expected) for candidate in candidates]
    return any(matches)


# --- Receiving -------------------------------------------------------------------------------


def receive(source: IncidentSource, body: bytes, header: str | None) -> Received:
    """Verify a delivery and record what it says. Raises ``Refused`` (401 bad signature, 400
    not JSON, 413 too large) or ``ValidationError`` naming the field (a 400); nothing is
    stored then."""
    if len(body) > MAX_BODY:
        DELIVERIES.labels(source.slug, "invalid").inc()
        raise Refused(413, {"detail": f"A delivery can be at most {MAX_BODY // 1024} KB."})
    if not verify(source, body, header):
        DELIVERIES.labels(source.slug, "bad_signature").inc()
        name = SIGNATURE_HEADER[source.kind]
        missing = "is missing" if not header else "does not match the body"
        raise Refused(
            401,
            {
                "detail": f"The signature ({name}) {missing}: sign the raw body with the "
                "source's secret (HMAC-SHA256, hex)."
            },
        )
    try:
        data = _json(body)
        # One delivery, one transaction: a reopening is its upsert and its update, or nothing.
        with transaction.atomic():
            if source.kind == SourceKind.PAGERDUTY:
                received = _pagerduty(source, data)
            else:
                received = _generic(source, data)
    except (Refused, ValidationError):
        DELIVERIES.labels(source.slug, "invalid").inc()
        raise
    DELIVERIES.labels(source.slug, received.result).inc()
    return received


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(400, {"detail": "The body is not JSON (UTF-8)."}) from None


def _field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def _text(value: Any, field: str, *, required: bool = True, longest: int | None = None) -> str:
    if value is None or value == "":
        if required:
            raise _field_error(field, "This field is required.")
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _field_error(field, "Give a string.")
    if "\x00" in value:
        raise _field_error(field, "Null characters are not allowed.")
    if longest is not None and len(value) > longest:
        raise _field_error(field, f"At most {longest} characters.")
    return value


def _title(value: Any, field: str) -> str:
    title = _text(value, field).strip()
    if not title:
        raise _field_error(field, "This field is required.")
    # Tools allow longer titles than Relcal keeps: the start of it is the useful part.
    return title if len(title) <= 300 else title[:299] + "…"


def _moment(value: Any, field: str, *, required: bool = True) -> datetime | None:
    if value is None:
        if required:
            raise _field_error(field, "This field is required.")
        return None
    moment = parse_datetime(value) if isinstance(value, str) and "\x00" not in value else None
    if moment is None:
        raise _field_error(field, "Give an ISO 8601 time, e.g. 2026-12-01T14:00:00Z.")
    if timezone.is_naive(moment):
        raise _field_error(field, "Include a UTC offset, e.g. 2026-12-01T14:00:00+01:00 or …Z.")
    if not in_range(moment):
        raise _field_error(field, OUT_OF_RANGE)
    return moment


def _link(value: Any) -> str:
    """A link from the tool, kept only when it is one (a bad link is no reason to lose an
    incident)."""
    if not isinstance(value, str) or len(value) > 500 or "\x00" in value:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return ""
    return value


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _field_error(field, "Give a JSON object.")
    return value


# --- PagerDuty webhooks v3 ---------------------------------------------------------------------


def _pagerduty_services(source: IncidentSource, data: dict[str, Any]) -> list[Service]:
    reference = data.get("service")
    if reference is not None and not isinstance(reference, dict):
        raise _field_error("event.data.service", "Give a JSON object.")
    reference = reference or {}
    summary = reference.get("summary") if isinstance(reference.get("summary"), str) else ""
    pd_id = reference.get("id") if isinstance(reference.get("id"), str) else ""
    summary, pd_id = summary.replace("\x00", ""), pd_id.replace("\x00", "")
    match = Q(pk__in=[])
    if summary:
        match |= Q(slug=slugify(summary)[:50]) | Q(name__iexact=summary[:100])
    if pd_id:
        match |= Q(slug=slugify(pd_id)[:50])
    found = list(Service.objects.filter(match).order_by("name")[:1])
    if found:
        return found
    defaults = list(source.default_services.order_by("name"))
    if defaults:
        return defaults
    named = f"“{summary}” ({pd_id})" if summary or pd_id else "(none named)"
    raise _field_error(
        "event.data.service",
        f"No Relcal service matches the PagerDuty service {named}, and the source "
        f"“{source.name}” has no default services: name a Relcal service like the PagerDuty "
        "one (its slug or name), or give the source default services.",
    )


def _pagerduty_severity(data: dict[str, Any]) -> str:
    priority = data.get("priority")
    if isinstance(priority, dict) and priority.get("summary") in PAGERDUTY_PRIORITY:
        return PAGERDUTY_PRIORITY[priority["summary"]]
    return PAGERDUTY_URGENCY.get(data.get("urgency"), Severity.SEV3)


def _pagerduty(source: IncidentSource, payload: Any) -> Received:
    event = _object(_object(payload, "event").get("event"), "event")
    event_type = _text(event.get("event_type"), "event.event_type", longest=100)
    if event_type not in PAGERDUTY_EVENTS:
        return Received("ignored", detail=f"{event_type} events are not recorded.")
    data = _object(event.get("data"), "event.data")
    if data.get("type", "incident") != "incident":
        return Received("ignored", detail=f"{event_type} without an incident is not recorded.")
    occurred_at = _moment(event.get("occurred_at"), "event.occurred_at")
    opened_at = _moment(data.get("created_at"), "event.data.created_at", required=False)
    resolved = event_type == "incident.resolved"
    fields = {
        "title": _title(data.get("title"), "event.data.title"),
        "severity": _pagerduty_severity(data),
        "services": _pagerduty_services(source, data),
        "opened_at": opened_at or occurred_at,
        "resolved_at": occurred_at if resolved else None,
        "url": _link(data.get("html_url")),
        "external_id": _text(data.get("id"), "event.data.id", longest=200),
    }
    try:
        incident = incidents.incident_open(actor=None, source=source, **fields)
        created = incident.created
        if event_type == "incident.reopened" and incident.resolved_at is not None:
            incident = incidents.incident_update(
                actor=None, incident=incident, source=source, resolved_at=None
            )
    except ValidationError as error:
        raise _pagerduty_paths(error) from None
    return Received("created" if created else "updated", incident)


# A service's refusal, named by the delivery's own path (``event.occurred_at``).
PAGERDUTY_PATHS = {
    "title": "event.data.title",
    "severity": "event.data.priority",
    "services": "event.data.service",
    "opened_at": "event.data.created_at",
    "resolved_at": "event.occurred_at",
    "url": "event.data.html_url",
    "external_id": "event.data.id",
}


def _pagerduty_paths(error: ValidationError) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError(
        {
            PAGERDUTY_PATHS.get(field, field): messages
            for field, messages in error.message_dict.items()
        }
    )


# --- The generic JSON shape --------------------------------------------------------------------


def _generic_services(source: IncidentSource, value: Any) -> list[Service]:
    if value is None or value == []:
        defaults = list(source.default_services.order_by("name"))
        if not defaults:
            raise _field_error(
                "services",
                f"Name the services (slugs); the source “{source.name}” has no default services.",
            )
        return defaults
    if not isinstance(value, list) or len(value) > incidents.MAX_SERVICES:
        raise _field_error(
            "services", f"Give a list of at most {incidents.MAX_SERVICES} service slugs."
        )
    slugs = [_text(slug, "services", longest=50) for slug in value]
    found = {service.slug: service for service in Service.objects.filter(slug__in=slugs)}
    unknown = [slug for slug in slugs if slug not in found]
    if unknown:
        raise _field_error("services", f"No such service: {', '.join(unknown)}.")
    return [found[slug] for slug in dict.fromkeys(slugs)]


def _pk(value: Any, field: str, queryset) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _field_error(field, "Give the id as a number.")
    found = queryset.filter(pk=value).first() if 0 < value < 2**63 else None
    if found is None:
        raise _field_error(field, f'Invalid pk "{value}" - object does not exist.')
    return found


def _generic(source: IncidentSource, payload: Any) -> Received:
    data = _object(payload, "body")
    status = data.get("status")
    if status is not None and status not in STATUSES:
        raise _field_error("status", f"Choose one of: {', '.join(STATUSES)}.")
    severity = data.get("severity")
    if severity is not None:
        word = severity.lower() if isinstance(severity, str) else None
        if word not in SEVERITY_WORDS:
            raise _field_error(
                "severity",
                f"Choose one of: {', '.join(Severity.values)} (or critical, major, minor, low).",
            )
        severity = SEVERITY_WORDS[word]
    resolved_at = _moment(data.get("resolved_at"), "resolved_at", required=False)
    if status == "open" and resolved_at is not None:
        raise _field_error(
            "resolved_at", "An open incident has no resolved_at: send status resolved."
        )
    if status == "resolved" and resolved_at is None:
        resolved_at = timezone.now()
    opened_at = _moment(data.get("opened_at"), "opened_at", required=False) or timezone.now()
    incident = incidents.incident_open(
        actor=None,
        source=source,
        external_id=_text(data.get("id"), "id", longest=200),
        title=_title(data.get("title"), "title"),
        severity=severity,
        services=_generic_services(source, data.get("services")),
        opened_at=opened_at,
        resolved_at=resolved_at,
        url=_link(data.get("url")),
        deployment=_pk(data.get("deployment"), "deployment", CAUSES),
        release=_pk(data.get("release"), "release", Release.objects.select_related("team")),
    )
    return Received("created" if incident.created else "updated", incident)
