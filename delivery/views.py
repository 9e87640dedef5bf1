"""The Delivery metrics page and its CSV: the four DORA keys of the teams a reader may see (or
one team, or one service) over a period, each with its band and definition, and their trend per
week or month (``delivery.charts``), from ``delivery.dora``.

Both answer from aggregate queries: a fixed number of queries whatever the number of
deployments or incidents, and at most three years of weekly buckets. Only teams and services the
reader may see are offered or counted; one they may not see is refused like an unknown one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from relcal.csv import neutralise
from relcal.forms import DateInput, PageForm, add_service_errors
from releases.models import Team
from reliability.models import Service
from reliability.selectors import visible_services

from . import bands, dora
from .charts import periods, trends
from .selectors import teams_for_filter
from .wording import duration_text, per_day_text, rate_text

PRESETS = {"30": 30, "90": 90, "180": 180, "365": 365}
DEFAULT_PERIOD = "90"
CUSTOM = "custom"
PERIODS = [
    *((key, f"Last {days} days") for key, days in PRESETS.items()),
    (CUSTOM, "Custom dates"),
]
INTERVALS = [("weekly", "Per week"), ("monthly", "Per month")]
MOST_SERVICES = 500  # in the drop-down; the rest are reachable by ?service=<slug>
# The series a page draws: the API's four keys, the 90th percentile of lead time and the time
# to restore over all incidents.
TREND_METRICS = (
    "deployment_frequency",
    "lead_time_for_changes",
    "lead_time_p90",
    "change_failure_rate",
    "time_to_restore_service",
    "time_to_restore_all",
)


class MetricsForm(PageForm):
    id_prefix = "delivery"

    team = forms.ChoiceField(
        required=False, error_messages={"invalid_choice": "Choose a team from the list."}
    )
    service = forms.ChoiceField(
        required=False, error_messages={"invalid_choice": "Choose a service from the list."}
    )
    period = forms.ChoiceField(
        choices=PERIODS,
        required=False,
        error_messages={"invalid_choice": "Choose a period from the list."},
    )
    start_date = forms.DateField(label="From", required=False, widget=DateInput())
    end_date = forms.DateField(label="To", required=False, widget=DateInput())
    interval = forms.ChoiceField(
        label="Trend",
        choices=INTERVALS,
        required=False,
        error_messages={"invalid_choice": "Choose per week or per month."},
    )

    def __init__(self, data, *, teams: list[Team], services: list[Service], today: date):
        super().__init__(data)
        self.today = today
        self.fields["team"].choices = [("", "All teams"), *((t.slug, t.name) for t in teams)]
        groups: dict[str, list[tuple[str, str]]] = {}
        for service in services:
            groups.setdefault(service.team.name, []).append((service.slug, service.name))
        self.fields["service"].choices = [("", "All services"), *groups.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        period = data.get("period") or DEFAULT_PERIOD
        if period == CUSTOM:
            start, end = data.get("start_date"), data.get("end_date") or self.today
            if start is None:
                self.add_error("start_date", "Give the first day of the period.")
                return data
        else:
            end = self.today
            start = end - timedelta(days=PRESETS[period] - 1)
        data.update(period=period, start_date=start, end_date=end)
        data["interval"] = data.get("interval") or "weekly"
        try:
            dora.validate_period(start, end, data["interval"])
        except ValidationError as error:
            add_service_errors(self, error)
        return data


def _form_data(query) -> dict[str, str]:
    """The query with the defaults filled in: dates without a period mean custom dates."""
    data = {key: query.get(key, "") for key in MetricsForm.base_fields}
    if not data["period"]:
        given = data["start_date"] or data["end_date"]
        data["period"] = CUSTOM if given else DEFAULT_PERIOD
    data["interval"] = data["interval"] or "weekly"
    return data


def _choices(user, chosen: str) -> tuple[list[Team], list[Service]]:
    """The teams and (the first ``MOST_SERVICES``) services ``user`` may see, with the chosen
    service among them even past the first ones."""
    teams = list(teams_for_filter(user).order_by("name"))
    services = list(
        visible_services(user)
        .select_related("team")
        .order_by("team__name", "name")[: MOST_SERVICES + 1]
    )
    if len(services) > MOST_SERVICES:
        services = services[:MOST_SERVICES]
        if chosen and chosen not in {service.slug for service in services}:
            services += list(visible_services(user).select_related("team").filter(slug=chosen))
    return teams, services


@dataclass
class Filters:
    team: Team | None
    service: Service | None
    start: date
    end: date
    interval: str
    period: str

    @property
    def scope(self) -> str:
        """ "all teams you can see", "Payments", "Payments API" or "Payments API of Payments"."""
        if self.service and self.team and self.service.team_id != self.team.pk:
            return f"{self.service.name}, changes of {self.team.name}"
        if self.service:
            return self.service.name
        return self.team.name if self.team else "all teams you can see"


def _filters(request: HttpRequest) -> tuple[MetricsForm, Filters | None]:
    teams, services = _choices(request.user, str(request.GET.get("service", "")))
    form = MetricsForm(_form_data(request.GET), teams=teams, services=services, today=dora.today())
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    # Shown with the dates the period covers, so that a preset's days are in plain sight.
    form.data = {**form.data, "start_date": data["start_date"], "end_date": data["end_date"]}
    return form, Filters(
        team=next((t for t in teams if t.slug == data["team"]), None),
        service=next((s for s in services if s.slug == data["service"]), None),
        start=data["start_date"],
        end=data["end_date"],
        interval=data["interval"],
        period=data["period"],
    )


def _series(filters: Filters, user) -> dict[str, list]:
    return {
        metric: [
            point["value"]
            for point in dora.series(
                metric,
                start=filters.start,
                end=filters.end,
                interval=filters.interval,
                user=user,
                team=filters.team,
                service=filters.service,
            )
        ]
        for metric in TREND_METRICS
    }


# --- The four keys over the period ----------------------------------------------------------


@dataclass
class Key:
    metric: str
    title: str
    value: str
    band: bands.Band
    band_help: str  # what the band means: "less than one day"
    definition: str
    lines: list[str]


def _keys(summary: dora.Summary) -> list[Key]:
    def key(metric: str, title: str, value: str, definition: str, lines: list[str]) -> Key:
        band = summary.bands[metric]
        threshold = bands.THRESHOLDS[metric].get(band, "")
        return Key(metric, title, value, band, threshold, definition, lines)

    days = f"{summary.days} day{'s' if summary.days != 1 else ''}"
    incidents = summary.restored
    return [
        key(
            "deployment_frequency",
            "Deployment frequency",
            per_day_text(summary.deployment_frequency),
            "Successful production deployments a day (rollbacks restore, they are not "
            "changes); the band counts the days with one in the median week (Four Keys).",
            [
                f"{summary.deployments} deployment{'s' if summary.deployments != 1 else ''} "
                f"in {days}"
            ],
        ),
        key(
            "lead_time_for_changes",
            "Lead time for changes",
            duration_text(summary.lead_time_median),
            "From the first commit of the build to the end of its production deployment: the "
            "median.",
            [
                f"90th percentile: {duration_text(summary.lead_time_p90)}",
                f"{summary.lead_time_known} of {summary.deployments} changes with a known "
                "first commit",
            ],
        ),
        key(
            "change_failure_rate",
            "Change failure rate",
            rate_text(summary.change_failure_rate),
            "Production changes that caused an incident, were rolled back or hot-fixed, of "
            "all production changes.",
            [f"{summary.failed} of {summary.deployments} changes failed"]
            if summary.deployments
            else [],
        ),
        key(
            "time_to_restore_service",
            "Time to restore service",
            duration_text(summary.time_to_restore_median),
            "From an incident's opening to its resolution: the median over the incidents "
            "caused by a change, resolved in the period.",
            [
                f"{incidents} incident{'s' if incidents != 1 else ''} caused by a change resolved",
                f"All incidents: {duration_text(summary.time_to_restore_all_median)} "
                f"({summary.restored_all} resolved)",
                f"Open at the period's end: {summary.open_incidents}",
            ],
        ),
    ]


@login_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    context: dict[str, Any] = {"form": form, "filters": filters, "current": "delivery"}
    if filters is None:
        return render(request, "delivery/metrics.html", context, status=400)
    summary = dora.summary(
        start=filters.start,
        end=filters.end,
        user=request.user,
        team=filters.team,
        service=filters.service,
    )
    values = _series(filters, request.user)
    rows = periods(dora.buckets(filters.start, filters.end, filters.interval), filters.start)
    context.update(
        summary=summary,
        keys=_keys(summary),
        trends=trends(interval=filters.interval, periods=rows, values=values, scope=filters.scope),
        csv_query=_query(filters),
        citation=bands.CITATION,
        report_url=bands.REPORT_URL,
        four_keys_url=bands.FOUR_KEYS_URL,
    )
    return render(request, "delivery/metrics.html", context)


def _query(filters: Filters) -> str:
    return urlencode(
        {
            "team": filters.team.slug if filters.team else "",
            "service": filters.service.slug if filters.service else "",
            "period": CUSTOM,
            "start_date": filters.start.isoformat(),
            "end_date": filters.end.isoformat(),
            "interval": filters.interval,
        }
    )


# --- CSV ----------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "team",
    "service",
    "interval",
    "bucket",
    "from",
    "to",
    "days",
    "deployments",
    "deployments_per_day",
    "lead_time_median_seconds",
    "lead_time_p90_seconds",
    "change_failure_rate",
    "failed_changes",
    "time_to_restore_median_seconds",
    "time_to_restore_all_incidents_median_seconds",
]


def _blank(value: Any) -> Any:
    return "" if value is None else value


@login_required
@require_GET
def series_csv(request: HttpRequest) -> HttpResponse:
    """The page's series as CSV, a row per week or month, with the same filters; an empty
    cell is "no data"."""
    form, filters = _filters(request)
    if filters is None:
        lines = [
            f"{name}: {' '.join(errors)}" if name != "__all__" else " ".join(errors)
            for name, errors in form.errors.items()
        ]
        return HttpResponse(
            "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
        )
    values = _series(filters, request.user)
    rows = periods(dora.buckets(filters.start, filters.end, filters.interval), filters.start)
    team = filters.team.slug if filters.team else "all"
    service = filters.service.slug if filters.service else ""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = "-".join(
        p for p in ("delivery", team, service, str(filters.start), str(filters.end)) if p
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{filters.interval}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for index, period in enumerate(rows):
        count = values["deployment_frequency"][index] or 0
        rate = values["change_failure_rate"][index]
        writer.writerow(
            neutralise(cell)
            for cell in [
                team,
                service,
                filters.interval,
                period.day.isoformat(),
                period.first.isoformat(),
                period.last.isoformat(),
                period.days,
                count,
                round(count / period.days, 4),
                _blank(values["lead_time_for_changes"][index]),
                _blank(values["lead_time_p90"][index]),
                _blank(None if rate is None else round(rate, 4)),
                "" if rate is None else round(rate * count),
                _blank(values["time_to_restore_service"][index]),
                _blank(values["time_to_restore_all"][index]),
            ]
        )
    return response
