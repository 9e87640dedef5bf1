"""Every write to incidents, as one function per action: open (idempotent by the reporting tool's
id), update (resolve, reopen, set or change the cause), delete.

The API, the admin and the inbound webhooks call these; they never save incidents themselves.
Keyword-only arguments, ``actor`` first; refusals are ``ValidationError`` keyed by field or
``PermissionDenied`` (who may do what: ``delivery.permissions``). Each write and its audit event
share one transaction, and a write that changes what caused an incident (its deployment or
release, or its opening time when a release is named) asks ``delivery.changes`` to recompute
which production changes failed, in the same transaction.

Idempotency. An incident reported with an ``external_id`` (the on-call tool's id) is stored
once per source (the API is a source of its own: ``source=None``): reporting it again updates
the stored one (its title, severity, link, services, resolution and cause, each when given)
instead of adding a second; the first report's opening time stays. Two reports of the same id
at once are serialized (``relcal.db.serialize_writers``), so the second one finds the first.

Inbound webhooks act for their source, authenticated by its signature: ``actor=None`` with
``source`` set. A source changes only the incidents it reported, and needs no user permission;
everything else (times, services, the cause) is checked as for a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from environments.models import Deployment, EnvironmentKind
from relcal import audit
from relcal.db import locked as lock_row
from relcal.db import serialize_writers
from relcal.times import fmt, require_aware
from releases.models import Release
from releases.selectors import visible_release_q
from reliability.models import Service
from reliability.selectors import visible_services

from . import changes as production_changes
from . import permissions as perms
from .models import Incident, IncidentSource, Severity

INCIDENT_FIELDS = (
    "title",
    "severity",
    "services",
    "opened_at",
    "resolved_at",
    "url",
    "deployment",
    "release",
)
AUDIT_FIELDS = (
    "title",
    "severity",
    "opened_at",
    "resolved_at",
    "url",
    "source",
    "external_id",
    "deployment",
    "release",
)
# Monitoring hosts' clocks drift: a time this far ahead of the server's is still "now".
CLOCK_SKEW = timedelta(minutes=5)
MAX_SERVICES = 50


# --- Checks --------------------------------------------------------------------------------------


def _unknown(fields: Iterable[str]) -> None:
    unknown = set(fields) - set(INCIDENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown incident fields: {', '.join(sorted(unknown))}")


def _acts_for_source(actor, source: IncidentSource | None) -> bool:
    """A webhook delivery: no person, a source whose signature the caller verified."""
    return source is not None and not getattr(actor, "is_authenticated", False)


def _require_person(actor) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("Sign in to report incidents.")


def _check_text(title: Any, severity: Any, url: Any, external_id: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    if title is not None:
        if not isinstance(title, str) or not title.strip():
            errors["title"] = "Give the incident a title."
        elif len(title) > 300:
            errors["title"] = "A title can be at most 300 characters long."
    if severity is not None and severity not in Severity.values:
        errors["severity"] = f"Choose one of: {', '.join(Severity.values)}."
    if url is not None and (not isinstance(url, str) or len(url) > 500):
        errors["url"] = "Give a link of at most 500 characters."
    if external_id is not None and (not isinstance(external_id, str) or len(external_id) > 200):
        errors["external_id"] = "An external id can be at most 200 characters long."
    return errors


def _check_times(opened_at: datetime, resolved_at: datetime | None, now: datetime) -> None:
    require_aware(opened_at=opened_at, resolved_at=resolved_at)
    errors: dict[str, str] = {}
    if opened_at > now + CLOCK_SKEW:
        errors["opened_at"] = f"An incident cannot open in the future ({fmt(opened_at)})."
    if resolved_at is not None:
        if resolved_at < opened_at:
            errors["resolved_at"] = (
                f"An incident cannot be resolved ({fmt(resolved_at)}) before it was opened "
                f"({fmt(opened_at)})."
            )
        elif resolved_at > now + CLOCK_SKEW:
            errors["resolved_at"] = (
                f"An incident cannot be resolved in the future ({fmt(resolved_at)})."
            )
    if errors:
        raise ValidationError(errors)


def _check_services(actor, services: list[Service], *, as_source: bool) -> None:
    if not services:
        raise ValidationError({"services": "Name at least one service the incident affects."})
    if len(services) > MAX_SERVICES:
        raise ValidationError({"services": f"Name at most {MAX_SERVICES} services."})
    if as_source:
        return  # a source's services are its configuration, set by release managers and SRE
    ids = {service.pk for service in services}
    seen = set(
        visible_services(actor, Service.objects.filter(pk__in=ids)).values_list("pk", flat=True)
    )
    if ids - seen:
        # The same answer as for a service that does not exist: a private one stays unnamed.
        raise ValidationError({"services": "No such service."})


def _release_visible(actor, release: Release) -> bool:
    condition = visible_release_q(actor)
    return condition == Q() or Release.objects.filter(condition, pk=release.pk).exists()


def _cause_owner(actor, *, deployment: Deployment | None, release: Release | None) -> str:
    """Who may name this cause, in words that name no team the actor may not see."""
    team = perms.cause_team(deployment=deployment, release=release)
    named = release if release is not None else (deployment.release if deployment else None)
    if team is None or (named is not None and not _release_visible(actor, named)):
        return "Only members of the team whose change it is, release managers and SRE"
    return f"Only members of {team}, release managers and SRE"


def _check_cause(
    actor,
    *,
    deployment: Deployment | None,
    release: Release | None,
    opened_at: datetime,
    as_source: bool,
) -> None:
    """The cause must be a production change that existed when the incident opened, one the
    actor may see, and the deployment and the release (both named) must agree."""
    errors: dict[str, str] = {}
    if release is not None and not as_source and not _release_visible(actor, release):
        # The same answer as for an id that does not exist: a private release stays unnamed.
        raise ValidationError({"release": f'Invalid pk "{release.pk}" - object does not exist.'})
    if deployment is not None:
        if deployment.environment.kind != EnvironmentKind.PROD:
            errors["deployment"] = (
                f"Deployment #{deployment.pk} went to {deployment.environment}, not to "
                "production: only production deployments are changes that cause incidents."
            )
        elif deployment.deployed_at > opened_at:
            errors["deployment"] = (
                f"Deployment #{deployment.pk} started {fmt(deployment.deployed_at)}, after the "
                f"incident opened ({fmt(opened_at)}): it cannot have caused it."
            )
        elif release is not None and deployment.release_id != release.pk:
            errors["release"] = (
                f"Deployment #{deployment.pk} is not of this release: name its own release, "
                "or only the deployment."
            )
    if errors:
        raise ValidationError(errors)


def _require_cause_right(actor, *, deployment, release, as_source: bool) -> None:
    if as_source or (deployment is None and release is None):
        return
    if not perms.can_name_cause(actor, deployment=deployment, release=release):
        owner = _cause_owner(actor, deployment=deployment, release=release)
        raise PermissionDenied(f"{owner} can name a change of theirs as an incident's cause.")


def _require_reporter(actor, services: list[Service]) -> None:
    if not perms.can_report_incident(actor, services):
        raise PermissionDenied(
            "Only members of the team of a service the incident affects, release managers and "
            "SRE can report or change it."
        )


# --- Audit and the changes it fails -----------------------------------------------------------


def _snapshot(incident: Incident, services: Iterable[Service]) -> dict[str, Any]:
    data = audit.values(incident, AUDIT_FIELDS)
    data["services"] = sorted(service.slug for service in services)
    return data


def _refresh(deployment_ids: Iterable[int | None], release_ids: Iterable[int | None]) -> None:
    """The changes these causes name may have become failed (or stopped being failed)."""
    deployments = sorted({pk for pk in deployment_ids if pk is not None})
    releases = sorted({pk for pk in release_ids if pk is not None})
    if deployments or releases:
        production_changes.refresh_failures(deployment_ids=deployments, release_ids=releases)


def _related(incident: Incident) -> Incident:
    return Incident.objects.select_related(
        "source", "release__team", "deployment__environment", "deployment__release__team"
    ).get(pk=incident.pk)


# --- Open ----------------------------------------------------------------------------------------


def incident_open(
    *,
    actor,
    title: str,
    severity: str | None = None,
    services: Iterable[Service],
    opened_at: datetime,
    url: str = "",
    source: IncidentSource | None = None,
    external_id: str = "",
    deployment: Deployment | None = None,
    release: Release | None = None,
    resolved_at: datetime | None = None,
) -> Incident:
    """Open an incident on ``services`` (SEV3 unless ``severity`` says otherwise), optionally
    resolved already and with its cause (a production deployment, or a release) when known.

    With ``external_id``, a repeat for the same source updates the stored incident (title,
    severity, link, services, resolution and cause, each when given; never reopening it) and
    returns it with ``created`` False; a new one has ``created`` True.
    """
    services = list(services)
    external_id = "" if external_id is None else external_id
    external_id = external_id.strip() if isinstance(external_id, str) else external_id
    as_source = _acts_for_source(actor, source)
    if not as_source:
        _require_person(actor)
    errors = _check_text(title, severity, url, external_id)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if external_id:
            serialize_writers(f"incident:{source.pk if source else 0}:{external_id}")
            existing = Incident.objects.filter(source=source, external_id=external_id).first()
            if existing is not None:
                repeat: dict[str, Any] = {"title": title}
                given = {
                    "severity": severity,
                    "url": url or None,
                    "services": services or None,
                    "resolved_at": resolved_at,
                    "deployment": deployment,
                    "release": release,
                }
                repeat.update({k: v for k, v in given.items() if v is not None})
                incident = _update(actor, existing, source=source, changes=repeat)
                incident.created = False
                return incident
        return _create(
            actor,
            as_source=as_source,
            title=title,
            severity=severity or Severity.SEV3,
            services=services,
            opened_at=opened_at,
            resolved_at=resolved_at,
            url=url,
            source=source,
            external_id=external_id,
            deployment=deployment,
            release=release,
        )


def _create(actor, *, as_source: bool, services: list[Service], **fields: Any) -> Incident:
    _check_services(actor, services, as_source=as_source)
    if not as_source:
        _require_reporter(actor, services)
    _check_times(fields["opened_at"], fields["resolved_at"], timezone.now())
    cause = {"deployment": fields["deployment"], "release": fields["release"]}
    _check_cause(actor, **cause, opened_at=fields["opened_at"], as_source=as_source)
    _require_cause_right(actor, **cause, as_source=as_source)
    incident = Incident(**fields, reported_by=actor if not as_source else None)
    incident.full_clean(exclude=["services"], validate_constraints=False)
    incident.save()
    incident.services.set(services)
    audit.record(
        actor=actor, action="incident.open", obj=incident, after=_snapshot(incident, services)
    )
    _refresh([incident.deployment_id], [incident.release_id])
    incident = _related(incident)
    incident.created = True
    return incident


# --- Update --------------------------------------------------------------------------------------


def incident_update(
    *, actor, incident: Incident, source: IncidentSource | None = None, **changes: Any
) -> Incident:
    """Change an incident: resolve it (``resolved_at``), reopen it (``resolved_at=None``), set,
    change or clear its cause (``deployment``, ``release``), or its title, severity, link,
    services and opening time. A source (webhooks) changes only the incidents it reported."""
    _unknown(changes)
    if not _acts_for_source(actor, source):
        _require_person(actor)
        source = None
    errors = _check_text(
        changes.get("title"), changes.get("severity"), changes.get("url"), external_id=None
    )
    if "title" in changes and changes["title"] is None:
        errors["title"] = "Give the incident a title."
    if "severity" in changes and changes["severity"] is None:
        errors["severity"] = f"Choose one of: {', '.join(Severity.values)}."
    if "opened_at" in changes and changes["opened_at"] is None:
        errors["opened_at"] = "Give the time the incident opened."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return _update(actor, incident, source=source, changes=changes)


def _update(
    actor, incident: Incident, *, source: IncidentSource | None, changes: Mapping[str, Any]
) -> Incident:
    as_source = _acts_for_source(actor, source)
    locked = lock_row(Incident, incident.pk)
    current = list(locked.services.select_related("team"))
    if as_source:
        if locked.source_id != source.pk:
            raise PermissionDenied("A source can only change the incidents it reported.")
    else:
        _require_reporter(actor, current)
    before = _snapshot(locked, current)
    old_cause = (locked.deployment_id, locked.release_id)
    old_deployment, old_release = locked.deployment, locked.release

    services = current
    if "services" in changes:
        services = list(changes["services"] or [])
        _check_services(actor, services, as_source=as_source)
        if not as_source:
            _require_reporter(actor, services)
    for field in ("title", "severity", "url", "opened_at", "resolved_at"):
        if field in changes:
            setattr(locked, field, changes[field] if field != "url" else changes[field] or "")
    for field in ("deployment", "release"):
        if field in changes:
            setattr(locked, field, changes[field])

    _check_times(locked.opened_at, locked.resolved_at, timezone.now())
    cause_changed = (locked.deployment_id, locked.release_id) != old_cause
    if cause_changed or "opened_at" in changes:
        _check_cause(
            actor,
            deployment=locked.deployment,
            release=locked.release,
            opened_at=locked.opened_at,
            as_source=as_source,
        )
    if cause_changed:
        # Naming, replacing or clearing a cause marks or unmarks a team's change as failed:
        # the right over both the old and the new cause.
        new = {
            "deployment": locked.deployment if locked.deployment_id != old_cause[0] else None,
            "release": locked.release if locked.release_id != old_cause[1] else None,
        }
        old = {
            "deployment": old_deployment if locked.deployment_id != old_cause[0] else None,
            "release": old_release if locked.release_id != old_cause[1] else None,
        }
        _require_cause_right(actor, **new, as_source=as_source)
        _require_cause_right(actor, **old, as_source=as_source)

    was, now = audit.changes(before, _snapshot(locked, services))
    if not now:
        return _related(locked)  # a repeated report: nothing to write
    locked.full_clean(exclude=["services"], validate_constraints=False)
    locked.save()
    if "services" in now:
        locked.services.set(services)
    audit.record(actor=actor, action="incident.update", obj=locked, before=was, after=now)
    if cause_changed or ("opened_at" in now and (old_cause[1] or locked.release_id)):
        # A release named as the cause fails its latest change before the incident opened.
        _refresh([old_cause[0], locked.deployment_id], [old_cause[1], locked.release_id])
    return _related(locked)


# --- Delete --------------------------------------------------------------------------------------


@transaction.atomic
def incident_delete(*, actor, incident: Incident) -> None:
    """Remove an incident reported by mistake (release managers); a change it failed is
    recomputed without it."""
    perms.require(
        perms.can_delete_incident(actor),
        "Only release managers can delete incidents; resolve a real one instead.",
    )
    locked = lock_row(Incident, incident.pk)
    services = list(locked.services.all())
    cause = (locked.deployment_id, locked.release_id)
    audit.delete_and_record(
        actor=actor, action="incident.delete", obj=locked, before=_snapshot(locked, services)
    )
    _refresh([cause[0]], [cause[1]])
