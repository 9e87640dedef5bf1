"""Reads that pages, API and feeds share, prefetched so that a list costs a fixed number of
queries whatever its length."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Milestone, Release, ReleaseDependency, ReleaseTransition


def release_list() -> QuerySet[Release]:
    return Release.objects.select_related("team", "manager").order_by("go_live", "id")


def release_detail() -> QuerySet[Release]:
    """One release with everything its page shows: milestones, scope, links both ways, history."""
    return Release.objects.select_related("team", "manager").prefetch_related(
        Prefetch("milestones", queryset=Milestone.objects.order_by("date", "at", "id")),
        "scope_items__owner",
        Prefetch(
            "dependencies",
            queryset=ReleaseDependency.objects.select_related("depends_on__team"),
        ),
        Prefetch(
            "dependents",
            queryset=ReleaseDependency.objects.select_related("release__team"),
        ),
        Prefetch("transitions", queryset=ReleaseTransition.objects.select_related("actor")),
        "watchers",
    )
