"""Filters shared by the release list page and the API (one definition, two front ends)."""

from __future__ import annotations

from datetime import datetime, timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from .models import (
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ScopeItem,
    Team,
)


class ReleaseFilter(django_filters.FilterSet):
    # The schema cannot infer a type through team__slug; spell it out for drf-spectacular.
    team = extend_schema_field({"type": "string"})(
        django_filters.ModelMultipleChoiceFilter(
            field_name="team__slug",
            to_field_name="slug",
            queryset=Team.objects.all(),
            help_text="Team slug; repeat for several teams.",
        )
    )
    state = django_filters.MultipleChoiceFilter(
        choices=ReleaseState.choices, help_text="Lifecycle state; repeat for several."
    )
    go_live_after = django_filters.IsoDateTimeFilter(
        field_name="go_live", lookup_expr="gte", help_text="Go-live at or after (ISO 8601)."
    )
    go_live_before = django_filters.IsoDateTimeFilter(
        field_name="go_live", lookup_expr="lt", help_text="Go-live before (ISO 8601)."
    )
    month = extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$"})(
        django_filters.DateFilter(
            method="filter_month",
            input_formats=["%Y-%m"],
            widget=forms.DateInput(attrs={"type": "month"}),
            help_text="Go-live in this month, YYYY-MM.",
        )
    )
    q = django_filters.CharFilter(method="filter_q", help_text="Search name and version.")

    class Meta:
        model = Release
        fields = ["team", "state", "go_live_after", "go_live_before", "month", "q"]

    def filter_month(self, queryset, name, value):
        # A range rather than year/month extraction, so the go_live index serves it; the month
        # is the viewer's month (current time zone), not UTC's.
        start = timezone.make_aware(datetime(value.year, value.month, 1))
        following = (start + timedelta(days=32)).replace(day=1)
        return queryset.filter(
            go_live__gte=start,
            go_live__lt=timezone.make_aware(datetime(following.year, following.month, 1)),
        )

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(version__icontains=value))


class FreezeWindowFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug", help_text="Team slug.")
    active_at = django_filters.IsoDateTimeFilter(method="filter_active_at")
    ends_after = django_filters.IsoDateTimeFilter(field_name="end", lookup_expr="gt")
    starts_before = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = FreezeWindow
        fields = ["team", "active_at", "ends_after", "starts_before"]

    def filter_active_at(self, queryset, name, value):
        return queryset.filter(start__lte=value, end__gt=value)


class MilestoneFilter(django_filters.FilterSet):
    class Meta:
        model = Milestone
        fields = ["release", "kind", "done"]


class ScopeItemFilter(django_filters.FilterSet):
    class Meta:
        model = ScopeItem
        fields = ["release", "kind"]


class DependencyFilter(django_filters.FilterSet):
    class Meta:
        model = ReleaseDependency
        fields = ["release", "depends_on", "kind"]
