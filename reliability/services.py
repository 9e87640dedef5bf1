"""Every write to services, SLOs, pushed measurements, error-budget policies and the services a
release touches, as one function per action.

Admin, API and pages call these; they never save these rows themselves. Keyword-only arguments,
``actor`` first; refusals are ``ValidationError`` keyed by field, ``PermissionDenied``, or
``relcal.errors.Conflict`` (HTTP 409). Each write and its audit event share one transaction.

An SLO read from Prometheus has its expressions tried against the server when it is saved
(``reliability.prometheus.check_queries``), so that PromQL Prometheus refuses is reported on its
field at once, not found later as "no data". That query runs before the transaction opens: a
slow server must not hold the database's write lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

from relcal import audit
from relcal.db import locked
from relcal.errors import Conflict
from relcal.times import fmt, fmt_window, require_aware
from releases.models import Release, Team

from . import freezes, prometheus, selectors
from . import permissions as perms
from .models import SLO, ErrorBudgetPolicy, Measurement, Service, SLISource

SERVICE_FIELDS = ("team", "name", "slug", "description")
SLO_FIELDS = (
    "name",
    "objective",
    "window_days",
    "source",
    "prometheus_url",
    "good_query",
    "total_query",
    "error_ratio_query",
)
SLO_AUDIT = ("service", *SLO_FIELDS)
# Changing any of these changes what Prometheus is asked: the queries are tried again.
QUERY_SETTINGS = ("source", "prometheus_url", "good_query", "total_query", "error_ratio_query")
POLICY_FIELDS = ("at_risk_below", "when_exhausted", "freeze")
POLICY_AUDIT = ("team", *POLICY_FIELDS)

# Pushed measurements: at most this many in one call, each at most a day long, ending at most
# CLOCK_SKEW after the server's clock (monitoring hosts' clocks drift), with at most MAX_EVENTS
# events each (a million a second for eleven days: more is a bug, and sums must not overflow).
MAX_BATCH = 1_000
LONGEST_INTERVAL = timedelta(days=1)
CLOCK_SKEW = timedelta(minutes=5)
MAX_EVENTS = 10**12
MEASUREMENT_FIELDS = ("start", "end", "good", "total")


def _unknown(fields: Iterable[str], allowed: Sequence[str], what: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Unknown {what} fields: {', '.join(sorted(unknown))}")


def _full_clean(obj, exclude: Iterable[str] = ()) -> None:
    obj.full_clean(exclude=list(exclude), validate_unique=True, validate_constraints=True)


# --- Services --------------------------------------------------------------------------------


def _require_manager(actor, team: Team, doing: str) -> None:
    perms.require(
        perms.can_manage_services(actor, team),
        f"Only members of {team}, release managers and SRE can {doing}.",
    )


@transaction.atomic
def service_create(
    *, actor, team: Team, name: str, slug: str = "", description: str = ""
) -> Service:
    """Add a service of ``team``; ``slug`` defaults to the name, slugified."""
    _require_manager(actor, team, "add its services")
    service = Service(
        team=team, name=name, slug=slug or slugify(name)[:50], description=description
    )
    _full_clean(service)
    service.save()
    audit.record(
        actor=actor,
        action="service.create",
        obj=service,
        after=audit.values(service, SERVICE_FIELDS),
    )
    return service


@transaction.atomic
def service_update(*, actor, service: Service, **changes: Any) -> Service:
    """Change a service; moving it to another team needs the right to manage both teams."""
    _unknown(changes, SERVICE_FIELDS, "service")
    service = locked(Service.objects.select_related("team"), service.pk)
    _require_manager(actor, service.team, "change its services")
    team = changes.get("team")
    if team is not None and team.pk != service.team_id:
        _require_manager(actor, team, "move services to it")
    before = audit.values(service, SERVICE_FIELDS)
    for field, value in changes.items():
        setattr(service, field, value)
    if "slug" in changes and not service.slug:
        service.slug = slugify(service.name)[:50]
    _full_clean(service)
    service.save()
    audit.record_change(actor, "service.update", service, before, SERVICE_FIELDS)
    return service


def _end_open_freezes(slos, actor) -> None:
    """An SLO removed while it holds an error-budget freeze ends the freeze now: nothing would
    lift it later (calendars get the shortened freeze, with its SEQUENCE raised)."""
    freezes.end_with_slos(slos, actor=actor, now=timezone.now())


@transaction.atomic
def service_delete(*, actor, service: Service) -> None:
    """Remove a service with its SLOs, measurements and snapshots."""
    service = locked(Service.objects.select_related("team"), service.pk)
    _require_manager(actor, service.team, "remove its services")
    # The service, then its SLOs (relcal.db): the delete below takes them with it, after the
    # audit events, so no SLO service may hold one of them then, waiting for the audit chain.
    slos = list(SLO.objects.select_for_update(of=("self",)).filter(service=service).order_by("pk"))
    _end_open_freezes(slos, actor)
    before = audit.values(service, SERVICE_FIELDS)
    before["slos"] = sorted(slo.name for slo in slos)
    audit.record(actor=actor, action="service.delete", obj=service, before=before)
    service.delete()


# --- SLOs ------------------------------------------------------------------------------------


def _objective(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({"objective": "Give the objective as a number, e.g. 99.9."}) from None
    if not number.is_finite():
        raise ValidationError({"objective": "Give the objective as a number, e.g. 99.9."})
    return number


def _check_slo(slo: SLO) -> None:
    """Everything about an SLO that needs no Prometheus: in range, the right fields for its
    source, unique per service, within the columns' sizes."""
    errors: dict[str, str] = {}
    slo.objective = _objective(slo.objective)
    if slo.objective is None:
        errors["objective"] = "Give the objective, e.g. 99.9 (%)."
    elif not Decimal(0) < slo.objective < Decimal(100):
        errors["objective"] = (
            f"The objective must lie strictly between 0 and 100 (%), e.g. 99.9; "
            f"{format(slo.objective.normalize(), 'f')} is not."
        )
    if not isinstance(slo.window_days, int) or isinstance(slo.window_days, bool):
        errors["window_days"] = "Give the window as a whole number of days, e.g. 28."
    elif slo.window_days < 1:
        errors["window_days"] = "The window must be at least one day."
    elif slo.window_days > 366:
        errors["window_days"] = "The window can be at most 366 days."
    if slo.source not in SLISource.values:
        errors["source"] = f"Choose one of: {', '.join(SLISource.values)}."
    elif slo.source == SLISource.PUSHED:
        for field in ("prometheus_url", *prometheus.QUERY_FIELDS):
            if getattr(slo, field):
                errors[field] = (
                    "An SLO fed by pushed measurements reads no Prometheus; leave this empty."
                )
    taken = SLO.objects.filter(service_id=slo.service_id, name=slo.name).exclude(pk=slo.pk)
    if slo.name and taken.exists():
        errors["name"] = f"{slo.service} has an SLO named “{slo.name}” already."
    if errors:
        raise ValidationError(errors)
    _full_clean(slo)


def _try_queries(slo: SLO) -> None:
    """Ask Prometheus each expression once; a refusal is a ValidationError on its field."""
    if slo.source == SLISource.PROMETHEUS:
        prometheus.check_queries(slo)


def slo_create(
    *,
    actor,
    service: Service,
    name: str,
    objective: Decimal | float | str,
    source: str,
    window_days: int = 28,
    prometheus_url: str = "",
    good_query: str = "",
    total_query: str = "",
    error_ratio_query: str = "",
    test_queries: bool = True,
) -> SLO:
    """Add an SLO to ``service``. A Prometheus SLO needs good and total expressions or an
    error-ratio one, each with ``$window``; they are tried against the server first (unless
    ``test_queries`` is off: the demo data, which has no Prometheus, and nothing else)."""
    _require_manager(actor, service.team, "add SLOs to its services")
    slo = SLO(
        service=service,
        name=name,
        objective=objective,
        source=source,
        window_days=window_days,
        prometheus_url=prometheus_url,
        good_query=good_query,
        total_query=total_query,
        error_ratio_query=error_ratio_query,
    )
    _check_slo(slo)
    if test_queries:
        _try_queries(slo)
    with transaction.atomic():
        # The service may have gone while Prometheus was asked.
        locked(Service, service.pk)
        _full_clean(slo)
        slo.save()
        audit.record(actor=actor, action="slo.create", obj=slo, after=audit.values(slo, SLO_AUDIT))
    return slo


def _apply(slo: SLO, changes: Mapping[str, Any]) -> None:
    for field, value in changes.items():
        setattr(slo, field, value)
    if slo.source == SLISource.PUSHED:
        # Switching to pushed measurements leaves the old expressions behind, unasked.
        for field in ("prometheus_url", *prometheus.QUERY_FIELDS):
            if field not in changes:
                setattr(slo, field, "")


def slo_update(*, actor, slo: SLO, test_queries: bool = True, **changes: Any) -> SLO:
    """Change an SLO (not its service). New expressions or another server are tried against
    Prometheus first; the figures are recomputed at the next evaluation."""
    _unknown(changes, SLO_FIELDS, "SLO")
    current = SLO.objects.select_related("service__team").filter(pk=slo.pk).first()
    if current is None:
        raise Http404("This SLO no longer exists: it was deleted meanwhile.")
    _require_manager(actor, current.service.team, "change its SLOs")
    _apply(current, changes)
    _check_slo(current)
    asks_again = any(field in changes for field in (*QUERY_SETTINGS, "window_days"))
    if test_queries and asks_again:
        _try_queries(current)
    # Only what this call changes is written: a concurrent change of another field stays.
    written = set(changes)
    if current.source == SLISource.PUSHED:
        written |= {"prometheus_url", *prometheus.QUERY_FIELDS}
    with transaction.atomic():
        stored = locked(SLO.objects.select_related("service__team"), slo.pk)
        before = audit.values(stored, SLO_AUDIT)
        for field in written:
            setattr(stored, field, getattr(current, field))
        _full_clean(stored)
        stored.save()
        audit.record_change(actor, "slo.update", stored, before, SLO_AUDIT)
    return stored


@transaction.atomic
def slo_delete(*, actor, slo: SLO) -> None:
    """Remove an SLO with its measurements and snapshots; a freeze it holds ends now."""
    slo = locked(SLO.objects.select_related("service__team"), slo.pk)
    _require_manager(actor, slo.service.team, "remove its SLOs")
    _end_open_freezes([slo], actor)
    audit.record(actor=actor, action="slo.delete", obj=slo, before=audit.values(slo, SLO_AUDIT))
    slo.delete()


# --- Pushed measurements ---------------------------------------------------------------------


def _which(index: int, count: int) -> str:
    return f"Measurement {index + 1}: " if count > 1 else ""


def _check_measurement(
    item: Mapping[str, Any], *, index: int, count: int, slo: SLO, now: datetime
) -> Measurement:
    prefix = _which(index, count)
    missing = [field for field in MEASUREMENT_FIELDS if item.get(field) is None]
    if missing:
        raise ValidationError(dict.fromkeys(missing, f"{prefix}This field is required."))
    _unknown(item, MEASUREMENT_FIELDS, "measurement")
    start, end, good, total = (item[field] for field in MEASUREMENT_FIELDS)
    try:
        require_aware(start=start, end=end)
    except ValidationError as error:
        raise ValidationError(
            {field: [f"{prefix}{m}" for m in messages] for field, messages in error}
        ) from None
    errors: dict[str, str] = {}
    for field, value in (("good", good), ("total", total)):
        if not isinstance(value, int) or isinstance(value, bool):
            errors[field] = f"{prefix}Give a whole number of events."
        elif value < 0:
            errors[field] = f"{prefix}A count of events cannot be negative ({value})."
        elif value > MAX_EVENTS:
            errors[field] = f"{prefix}At most {MAX_EVENTS:,} events in one interval."
    if errors:
        raise ValidationError(errors)
    if good > total:
        errors["good"] = f"{prefix}Good events ({good:,}) cannot exceed the total ({total:,})."
    if end <= start:
        errors["end"] = f"{prefix}The interval must end after it starts."
    elif end - start > LONGEST_INTERVAL:
        errors["end"] = f"{prefix}An interval can last at most a day; split longer ones."
    elif end > now + CLOCK_SKEW:
        errors["end"] = (
            f"{prefix}The interval ends in the future ({fmt(end)}); push it once it is over."
        )
    elif end <= selectors.window_start(slo, now):
        errors["end"] = (
            f"{prefix}The interval ended before the SLO's {slo.window_days}-day window; "
            "it would not count."
        )
    if errors:
        raise ValidationError(errors)
    return Measurement(slo=slo, start=start, end=end, good=good, total=total)


def _overlap(a: Measurement, b: Measurement) -> bool:
    return a.start < b.end and b.start < a.end


def measurement_push(
    *,
    actor,
    slo: SLO,
    measurements: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
) -> list[Measurement]:
    """Store good and total event counts of intervals ``[start, end)`` for a pushed-measurement
    SLO: all of them or, when one is refused, none.

    Intervals of one SLO never overlap (events would count twice): one overlapping a stored
    measurement is a ``Conflict`` naming it, so a retried push is refused, not doubled.
    """
    now = now or timezone.now()
    slo = SLO.objects.select_related("service__team").filter(pk=slo.pk).first()
    if slo is None:
        raise Http404("This SLO no longer exists: it was deleted meanwhile.")
    perms.require(
        perms.can_push_measurements(actor, slo.service.team),
        f"Only members of {slo.service.team}, release managers and SRE can push measurements "
        f"for {slo.service}.",
    )
    if slo.source != SLISource.PUSHED:
        raise Conflict(
            f"“{slo}” reads its SLI from Prometheus; measurements are pushed only to SLOs "
            "whose source is pushed measurements.",
            details={"source": slo.source},
        )
    if not measurements:
        raise ValidationError({"measurements": "Give at least one measurement."})
    if len(measurements) > MAX_BATCH:
        raise ValidationError(
            {"measurements": f"At most {MAX_BATCH} measurements in one call; split the batch."}
        )
    rows = [
        _check_measurement(item, index=index, count=len(measurements), slo=slo, now=now)
        for index, item in enumerate(measurements)
    ]
    ordered = sorted(rows, key=lambda row: (row.start, row.end))
    for earlier, later in pairwise(ordered):
        if _overlap(earlier, later):
            raise ValidationError(
                {
                    "start": f"Two measurements of this batch overlap: "
                    f"{fmt_window(earlier.start, earlier.end)} and "
                    f"{fmt_window(later.start, later.end)}."
                }
            )
    with transaction.atomic():
        # One writer per SLO at a time, so that two pushes cannot both pass the overlap check.
        locked(SLO, slo.pk)
        stored = list(
            Measurement.objects.filter(
                slo=slo, start__lt=ordered[-1].end, end__gt=ordered[0].start
            ).order_by("start")
        )
        for row in ordered:
            clash = next((old for old in stored if _overlap(old, row)), None)
            if clash is not None:
                raise Conflict(
                    f"A measurement of {fmt_window(clash.start, clash.end)} is stored already "
                    f"({clash.good:,} good of {clash.total:,}); measurements of one SLO may not "
                    "overlap.",
                    details={
                        "conflict": {
                            "id": clash.pk,
                            "start": clash.start.isoformat(),
                            "end": clash.end.isoformat(),
                        }
                    },
                )
        # Checked above, row by row; the table's constraints hold the same rules.
        created = Measurement.objects.bulk_create(ordered)
        audit.record(
            actor=actor,
            action="measurement.push",
            obj=slo,
            after={
                "count": len(created),
                "start": ordered[0].start,
                "end": max(row.end for row in ordered),
                "good": sum(row.good for row in ordered),
                "total": sum(row.total for row in ordered),
            },
        )
    return created


# --- The services a release touches ------------------------------------------------------------


@transaction.atomic
def release_services_set(*, actor, release: Release, services: Iterable[Service]) -> list[Service]:
    """Name the services ``release`` touches (none: its team's). Only services the actor may
    see can be named; those the actor may not see stay as they were."""
    release = locked(Release.objects.select_related("team"), release.pk)
    perms.require(
        perms.can_set_release_services(actor, release),
        f"Only the team, the manager of {release.name} and release managers can say which "
        "services it touches.",
    )
    chosen = {service.pk for service in services}
    visible = set(
        selectors.visible_services(actor, Service.objects.all())
        .filter(pk__in=chosen)
        .values_list("pk", flat=True)
    )
    if chosen - visible:
        raise ValidationError({"services": "No such service."})
    current = set(release.services.values_list("pk", flat=True))
    hidden = current - set(
        selectors.visible_services(actor, Service.objects.all())
        .filter(pk__in=current)
        .values_list("pk", flat=True)
    )
    wanted = chosen | hidden
    if wanted != current:
        before = sorted(Service.objects.filter(pk__in=current).values_list("slug", flat=True))
        release.services.set(wanted)
        after = sorted(Service.objects.filter(pk__in=wanted).values_list("slug", flat=True))
        audit.record(
            actor=actor,
            action="release.services.set",
            obj=release,
            before={"services": before},
            after={"services": after},
        )
    return list(Service.objects.filter(pk__in=wanted).select_related("team").order_by("name"))


# --- Error-budget policies -------------------------------------------------------------------


def _require_policy_manager(actor) -> None:
    perms.require(
        perms.can_manage_budget_policies(actor),
        "Only release managers and SRE can set error-budget policies.",
    )


@transaction.atomic
def budget_policy_create(*, actor, team: Team, **fields: Any) -> ErrorBudgetPolicy:
    """Give ``team`` its own error-budget policy instead of the default from settings."""
    _require_policy_manager(actor)
    _unknown(fields, POLICY_FIELDS, "policy")
    policy = ErrorBudgetPolicy(team=team, **fields)
    _full_clean(policy)
    policy.save()
    audit.record(
        actor=actor,
        action="budget_policy.create",
        obj=policy,
        after=audit.values(policy, POLICY_AUDIT),
    )
    return policy


@transaction.atomic
def budget_policy_update(*, actor, policy: ErrorBudgetPolicy, **changes: Any) -> ErrorBudgetPolicy:
    _require_policy_manager(actor)
    _unknown(changes, POLICY_FIELDS, "policy")
    policy = locked(ErrorBudgetPolicy, policy.pk)
    before = audit.values(policy, POLICY_AUDIT)
    for field, value in changes.items():
        setattr(policy, field, value)
    _full_clean(policy)
    policy.save()
    audit.record_change(actor, "budget_policy.update", policy, before, POLICY_AUDIT)
    return policy


@transaction.atomic
def budget_policy_delete(*, actor, policy: ErrorBudgetPolicy) -> None:
    """The team follows the default policy (``RELCAL_ERROR_BUDGET_*``) again."""
    _require_policy_manager(actor)
    policy = locked(ErrorBudgetPolicy, policy.pk)
    audit.record(
        actor=actor,
        action="budget_policy.delete",
        obj=policy,
        before=audit.values(policy, POLICY_AUDIT),
    )
    policy.delete()
