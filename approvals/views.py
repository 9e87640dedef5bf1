"""Evidence for auditors: a printable page and JSON/CSV downloads per release, and a streaming
export of the audit trail for a period. Auditors, superusers and release managers only.

A release's evidence holds its sign-offs, its builds (release candidates) with every check
report and waiver, and its audit events.

The exports carry ``prev_hash`` and ``hash`` of every event, so that an auditor can re-check the
chain away from Relcal: ``hash = SHA-256(prev_hash + canonical JSON of the event's other
fields)``, canonical meaning sorted keys, no spaces, UTF-8 (see ``relcal/audit.py``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from relcal.audit import format_timestamp
from releases import gates
from releases.models import Release, ReleaseState

from . import evidence, selectors
from .models import AuditEvent


def _require_auditor(request: HttpRequest) -> None:
    if not selectors.can_see_evidence(request.user):
        raise PermissionDenied("Only auditors, superusers and release managers see evidence.")


class PeriodForm(forms.Form):
    start = forms.DateField(required=False, help_text="First day (UTC), YYYY-MM-DD.")
    end = forms.DateField(required=False, help_text="Last day (UTC), included.")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The period must end on or after its first day.")
        return data

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        lower = datetime.combine(start, time.min, UTC) if start else None
        upper = datetime.combine(end + timedelta(days=1), time.min, UTC) if end else None
        return lower, upper


@login_required
@require_GET
def evidence_index(request: HttpRequest) -> HttpResponse:
    _require_auditor(request)
    releases = (
        Release.objects.exclude(state__in=[ReleaseState.DRAFT, ReleaseState.PLANNED])
        .select_related("team")
        .order_by("-go_live", "-id")
    )
    page = Paginator(releases, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "approvals/evidence_index.html",
        {"page": page, "period_form": PeriodForm(), "head": evidence.chain_head()},
    )


def _evidence(request: HttpRequest, pk: int) -> dict[str, Any]:
    _require_auditor(request)
    release = get_object_or_404(
        selectors.with_approval_data(Release.objects.select_related("manager")), pk=pk
    )
    status = selectors.approval_status(release)
    events = list(
        AuditEvent.objects.filter(release_id=release.pk)
        .order_by("seq")
        .values_list(*evidence.EVENT_COLUMNS)
    )
    candidates = evidence.candidates(release)
    # The newest build is the current candidate; the others are superseded.
    current = max((candidate.pk for candidate in candidates), default=None)
    labels = {gate.name: gate.label for gate in gates.gates()}
    return {
        "release": release,
        "status": status,
        "snapshot": status.snapshot,
        "dependency_names": selectors.dependency_names(request.user, release),
        "signoffs": status.signoffs,
        "candidates": candidates,
        "current_candidate": current,
        "checks": [(c, report) for c in candidates for report in c.checks.all()],
        "waivers": [
            (c, waiver, labels.get(waiver.gate, waiver.gate))
            for c in candidates
            for waiver in c.waivers.all()
        ],
        "events": [evidence.event_row(values) for values in events],
        "head": evidence.chain_head(),
        "generated_at": timezone.now(),
        # What other apps keep about the release (e.g. post-release watches).
        "other_records": evidence.other_records(release),
    }


@login_required
@require_GET
def release_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "approvals/evidence_release.html", _evidence(request, pk))


@login_required
@require_GET
def release_evidence_json(request: HttpRequest, pk: int) -> HttpResponse:
    data = _evidence(request, pk)
    release, status = data["release"], data["status"]
    body = {
        "generated_at": format_timestamp(data["generated_at"]),
        "release": {
            "id": release.pk,
            "name": release.name,
            "version": release.version,
            "team": release.team.slug,
            "state": release.state,
        },
        "fingerprint": status.fingerprint,
        "snapshot": status.snapshot,
        "requirements": [
            {
                "role": role.role,
                "group": role.requirement.group_name,
                "count": role.requirement.count,
                "segregation_of_duties": role.requirement.segregation_of_duties,
                "state": role.state,
                "problems": role.problems(),
            }
            for role in status.roles
        ],
        "signoffs": [{**evidence.signoff_row(s), "snapshot": s.snapshot} for s in data["signoffs"]],
        "candidates": [
            {
                **evidence.candidate_row(candidate, candidate.pk == data["current_candidate"]),
                "checks": [
                    {**evidence.check_row(report, candidate), "details": report.details}
                    for report in candidate.checks.all()
                ],
                "waivers": [
                    evidence.waiver_row(waiver, candidate) for waiver in candidate.waivers.all()
                ],
            }
            for candidate in data["candidates"]
        ],
        "events": data["events"],
        "chain_head": data["head"],
        **{records.name: rows for records, rows, _ in data["other_records"]},
    }
    response = JsonResponse(body, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="evidence-release-{pk}.json"'
    return response


@login_required
@require_GET
def release_evidence_csv(request: HttpRequest, pk: int) -> HttpResponse:
    data = _evidence(request, pk)
    writer = csv.writer(evidence.Echo())
    columns = evidence.csv_columns()
    lines = [writer.writerow(["record", *columns])]
    for signoff in data["signoffs"]:
        lines.append(evidence.record(writer, "signoff", evidence.signoff_row(signoff)))
    for candidate in data["candidates"]:
        current = candidate.pk == data["current_candidate"]
        lines.append(
            evidence.record(writer, "candidate", evidence.candidate_row(candidate, current))
        )
        for report in candidate.checks.all():
            lines.append(evidence.record(writer, "check", evidence.check_row(report, candidate)))
        for waiver in candidate.waivers.all():
            lines.append(evidence.record(writer, "waiver", evidence.waiver_row(waiver, candidate)))
    for records, rows, _ in data["other_records"]:
        lines.extend(evidence.record(writer, records.name, row) for row in rows)
    blank_signoffs = [""] * len(evidence.SIGNOFF_COLUMNS)
    blank_extra = [""] * (
        len(columns) - len(evidence.SIGNOFF_COLUMNS) - len(evidence.EVENT_COLUMNS)
    )
    for event in data["events"]:
        cells = evidence.event_cells(event)
        lines.append(writer.writerow(["event", *blank_signoffs, *cells, *blank_extra]))
    response = HttpResponse("".join(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="evidence-release-{pk}.csv"'
    return response


def _period_events(request: HttpRequest) -> Iterator[dict[str, Any]]:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        raise _BadPeriod(form)
    lower, upper = form.bounds()
    events = AuditEvent.objects.order_by("seq")
    if lower:
        events = events.filter(timestamp__gte=lower)
    if upper:
        events = events.filter(timestamp__lt=upper)
    rows = events.values_list(*evidence.EVENT_COLUMNS).iterator(chunk_size=2_000)
    return (evidence.event_row(values) for values in rows)


class _BadPeriod(Exception):
    def __init__(self, form: PeriodForm) -> None:
        super().__init__(form.errors)
        self.form = form


def _bad_period(error: _BadPeriod) -> HttpResponse:
    return JsonResponse(error.form.errors.get_json_data(), status=400)


def _filename(request: HttpRequest, extension: str) -> str:
    start, end = request.GET.get("start", ""), request.GET.get("end", "")
    period = f"-{start}" if start else ""
    period += f"-to-{end}" if end else ""
    return f"audit-trail{period}.{extension}".replace("/", "")


@login_required
@require_GET
def audit_csv(request: HttpRequest) -> HttpResponse:
    _require_auditor(request)
    try:
        events = _period_events(request)
    except _BadPeriod as error:
        return _bad_period(error)

    def lines() -> Iterator[str]:
        writer = csv.writer(evidence.Echo())
        yield writer.writerow(evidence.EVENT_COLUMNS)
        for event in events:
            yield writer.writerow(evidence.event_cells(event))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(request, "csv")}"'
    return response


@login_required
@require_GET
def audit_json(request: HttpRequest) -> HttpResponse:
    _require_auditor(request)
    try:
        events = _period_events(request)
    except _BadPeriod as error:
        return _bad_period(error)

    def chunks() -> Iterator[str]:
        yield "["
        separator = "\n"
        for event in events:
            yield separator + json.dumps(event, ensure_ascii=False, sort_keys=True)
            separator = ",\n"
        yield "\n]\n"

    response = StreamingHttpResponse(chunks(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{_filename(request, "json")}"'
    return response
