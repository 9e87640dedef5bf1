"""Deployments on pages: the "Deployments" panel of the release page (its history across
environments, registered in ``EnvironmentsConfig.ready``), an environment's whole deployment
history, and the rows both show (strategy, steps reached with their times, outcome, rollbacks).

Each costs a fixed number of queries whatever the history's length (``selectors.deployments``
prefetches what a row shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from releases.models import Release

from .. import permissions as perms
from .. import selectors
from ..models import Deployment, Environment

# The release page shows this many, newest first; the environment's history pages through all.
PANEL_SHOWN = 30
HISTORY_PAGE = 50


@dataclass(frozen=True)
class Step:
    percent: int | float
    at: datetime | None


def with_steps(deployments) -> list[Deployment]:
    """The deployments, each with ``steps_reached`` (percent and time, for templates) and
    ``rollback_ids`` (from the prefetched rollbacks)."""
    rows = list(deployments)
    for deployment in rows:
        deployment.steps_reached = [
            Step(step.get("percent"), parse_datetime(step.get("at") or ""))
            for step in deployment.steps
            if isinstance(step, dict)
        ]
        deployment.rollback_ids = [rollback.pk for rollback in deployment.rollbacks.all()]
    return rows


def record_url(user, **initial: Any) -> str:
    """The admin form where release managers record a deployment by hand ("" for others)."""
    if not perms.is_release_manager(user):
        return ""
    query = "&".join(f"{name}={value}" for name, value in initial.items())
    return reverse("admin:environments_deployment_add") + (f"?{query}" if query else "")


def release_panel_context(request: HttpRequest, release: Release) -> dict[str, Any]:
    """The release page's "Deployments" panel. The page is only shown to people who may see
    the release, so every row may name it."""
    rows = with_steps(
        selectors.deployments(request.user).filter(release=release)[: PANEL_SHOWN + 1]
    )
    return {
        "deployments": rows[:PANEL_SHOWN],
        "more_deployments": len(rows) > PANEL_SHOWN,
        "record_url": record_url(request.user, release=release.pk),
    }


@login_required
@require_GET
def environment_deployments(request: HttpRequest, slug: str) -> HttpResponse:
    """Every deployment of an environment, newest first, a page at a time."""
    environment = get_object_or_404(Environment, slug=slug)
    history = selectors.deployments(request.user).filter(environment=environment)
    page = Paginator(history, HISTORY_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "environments/deployments.html",
        {
            "environment": environment,
            "page": page,
            "deployments": with_steps(page.object_list),
            "record_url": record_url(request.user, environment=environment.pk),
        },
    )
