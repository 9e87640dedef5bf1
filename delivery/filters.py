"""Filters shared by the incident API and pages. The querysets are limited to what the reader
may see before these apply; a team or service the reader may not see matches nothing, exactly
like one that does not exist (a team filter must not reveal, through the incidents its
changes caused, that a private team exists)."""

from __future__ import annotations

from django.db.models import Q
from django_filters import rest_framework as filters

from reliability.models import Service
from reliability.selectors import visible_services

from .models import Incident, Severity
from .selectors import IncidentServices, team_incidents_q, teams_for_filter


class _SlugsFilter(filters.BaseInFilter, filters.CharFilter):
    pass


def _user(filterset: filters.FilterSet):
    return getattr(filterset.request, "user", None)


class IncidentFilter(filters.FilterSet):
    team = _SlugsFilter(
        method="filter_team",
        help_text="Team slug (comma-separate several): incidents on its services or caused by "
        "its changes.",
    )
    service = _SlugsFilter(
        method="filter_service", help_text="Service slug; comma-separate several."
    )
    open = filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", help_text="`true`: not resolved yet."
    )
    caused_by_change = filters.BooleanFilter(
        method="filter_caused_by_change",
        help_text="`true`: a deployment or a release is named as the cause; `false`: no cause "
        "known.",
    )
    severity = filters.MultipleChoiceFilter(
        choices=Severity.choices, help_text="Severity; repeat for several."
    )
    source = filters.CharFilter(field_name="source__slug", help_text="The source's slug.")
    opened_after = filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta:
        model = Incident
        fields = [
            "team",
            "service",
            "open",
            "caused_by_change",
            "severity",
            "source",
            "opened_after",
            "opened_before",
        ]

    def filter_team(self, queryset, name, value):
        if not value:
            return queryset
        teams = teams_for_filter(_user(self)).filter(slug__in=value).values("pk")
        return queryset.filter(team_incidents_q(teams))

    def filter_service(self, queryset, name, value):
        if not value:
            return queryset
        services = visible_services(_user(self), Service.objects.filter(slug__in=value))
        touching = IncidentServices.objects.filter(service__in=services.values("pk"))
        return queryset.filter(pk__in=touching.values("incident_id"))

    def filter_caused_by_change(self, queryset, name, value):
        if value is None:
            return queryset
        caused = Q(deployment__isnull=False) | Q(release__isnull=False)
        return queryset.filter(caused) if value else queryset.exclude(caused)
