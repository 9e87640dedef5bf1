"""Filters shared by the reliability API and pages: services and SLOs by team, service and
state. A slug the reader may not see simply matches nothing (the querysets are limited to
what the reader may see before these apply)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from .models import SLO, Alert, Service, SLISource, SLOState


class _SlugsFilter(filters.BaseInFilter, filters.CharFilter):
    pass


class ServiceFilter(filters.FilterSet):
    team = _SlugsFilter(field_name="team__slug", help_text="Team slug; comma-separate several.")
    state = filters.MultipleChoiceFilter(
        choices=SLOState.choices,
        method="filter_state",
        help_text="Services with an SLO in this state; repeat for several.",
    )

    class Meta:
        model = Service
        fields = ["team", "state"]

    def filter_state(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(pk__in=SLO.objects.filter(state__in=value).values("service_id"))


class SLOFilter(filters.FilterSet):
    team = _SlugsFilter(
        field_name="service__team__slug", help_text="Team slug; comma-separate several."
    )
    service = _SlugsFilter(
        field_name="service__slug", help_text="Service slug; comma-separate several."
    )
    state = filters.MultipleChoiceFilter(
        choices=SLOState.choices, help_text="State; repeat for several."
    )
    alert = filters.MultipleChoiceFilter(
        choices=[(value, label) for value, label in Alert.choices if value],
        help_text="Alert level (`page`, `ticket`); repeat for several.",
    )
    source = filters.ChoiceFilter(choices=SLISource.choices)

    class Meta:
        model = SLO
        fields = ["team", "service", "state", "alert", "source"]
