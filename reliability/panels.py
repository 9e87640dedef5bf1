"""The "Reliability" panel on the release page (registered in ``ReliabilityConfig.ready``
through ``releases.panels``): the error budgets of the services the release touches, the SRE
override form when the error-budget gate fails, and the post-release watches of its production
deployments, with the rollback plan up front when one degraded.

The override form posts to ``budget_override_view`` (post/redirect/get, the answer a message on
the release page), as the waiver form of the Readiness panel does. A fixed number of queries,
whatever the number of services, SLOs or deployments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods

from accounts import signatures
from relcal.audit import format_timestamp
from relcal.errors import Conflict
from releases import gates
from releases.models import Release
from releases.selectors import visible_releases

from . import overrides, readiness, wording
from .models import SLO, DeploymentWatch, Service, WatchState

WATCHES_SHOWN = 5


@dataclass
class SLORow:
    slo: SLO
    label: str
    spent: bool
    left: str  # "18% left"


@dataclass
class ServiceRow:
    service: Service
    name: str
    link: str
    slos: list[SLORow] = field(default_factory=list)


@dataclass
class WatchRow:
    watch: DeploymentWatch
    figures: list[str]


def panel_context(request: HttpRequest, release: Release) -> dict[str, Any] | None:
    user = request.user
    budgets = readiness.load([release], user)
    watches = list(
        DeploymentWatch.objects.filter(deployment__release=release)
        .select_related("deployment__environment", "deployment__deployed_by")
        .order_by("-started_at", "-id")[:WATCHES_SHOWN]
    )
    services = budgets.touched.get(release.pk, [])
    if not services and not watches:
        return None
    result = readiness.result_for(release, budgets)
    override = release.budget_overrides.order_by("-signed_at", "-id").first()
    figure_teams = {e.get("team_id") for w in watches for e in w.figures or []} - {None}
    hidden = budgets.hidden | readiness.hidden_teams(user, figure_teams - budgets.policies.keys())
    rows = []
    for service in services:
        row = ServiceRow(service, budgets.name(service), readiness.service_link(service, budgets))
        for slo in budgets.slos.get(service.pk, []):
            label = wording.slo_label(slo, row.name)
            left = wording.left(slo.budget_remaining) if slo.budget_remaining is not None else ""
            row.slos.append(SLORow(slo, label, readiness.spent(slo), left))
        rows.append(row)
    degraded = next((w for w in watches if w.state == WatchState.DEGRADED), None)
    return {
        "services": rows,
        "gate": result,
        "override": override,
        "override_text": readiness.override_text(override) if override else "",
        "can_override": (
            result.state == gates.GateState.FAIL
            and override is None
            and release.state in gates.UPCOMING
            and overrides.can_override(user)
        ),
        "watches": [
            WatchRow(
                w, [wording.figure_text(e, e.get("team_id") in hidden) for e in w.figures or []]
            )
            for w in watches
        ],
        "degraded": degraded,
        "rollback_call": (
            f"/api/v1/deployments/{degraded.deployment_id}/rollback/" if degraded else ""
        ),
    }


class OverrideForm(forms.Form):
    reason = forms.CharField(max_length=2_000, widget=forms.Textarea(attrs={"rows": 2}))
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, provider: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if provider:  # they sign by signing in to the company's provider again
            del self.fields["password"]


@login_required
@require_http_methods(["GET", "POST"])  # GET: back from the provider's re-authentication
def budget_override_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not overrides.can_override(request.user):
        raise PermissionDenied("Only SREs override the error-budget gate.")
    release = get_object_or_404(visible_releases(request.user, Release.objects.all()), pk=pk)
    back = redirect(f"{release.get_absolute_url()}#reliability")
    signing = signatures.panel_form(
        request, OverrideForm, back=back, refused="No override was recorded"
    )
    if isinstance(signing, HttpResponse):
        return signing
    try:
        overrides.budget_override(actor=request.user, request=request, release=release, **signing)
    except (ValidationError, Conflict) as error:
        text = " ".join(getattr(error, "messages", None) or [str(error)])
        messages.error(request, f"No override was recorded: {text}")
        return back
    messages.success(
        request,
        f"You overrode the error-budget gate for {release.name}, signed and recorded.",
    )
    return back


# --- The release's evidence: SRE overrides and post-release watches ----------------------------


def _moment(value) -> str:
    return format_timestamp(value) if value is not None else ""


def override_rows(release: Release) -> list[dict[str, Any]]:
    return [
        {
            "gate": readiness.GATE,
            "reason": override.reason,
            "signer_name": override.signer_name,
            "signer_id": override.signer_id,
            "signed_at": _moment(override.signed_at),
        }
        for override in release.budget_overrides.order_by("signed_at", "id")
    ]


def watch_rows(release: Release) -> list[dict[str, Any]]:
    watches = (
        DeploymentWatch.objects.filter(deployment__release=release)
        .select_related("deployment__environment")
        .order_by("started_at", "id")
    )
    return [
        {
            "deployment_id": watch.deployment_id,
            "environment": watch.deployment.environment.slug,
            "version": watch.deployment.version,
            "watch": watch.state,
            "watch_from": _moment(watch.started_at),
            "watch_until": _moment(watch.until),
            "degraded_at": _moment(watch.degraded_at),
            "figures": watch.figures or [],
        }
        for watch in watches
    ]


def connect() -> None:
    from approvals import evidence
    from relcal import home
    from releases.panels import register_release_panel

    from .home_budgets import error_budgets

    register_release_panel("reliability/_release_reliability.html", panel_context, order=7)
    home.register_section("reliability/_home_error_budgets.html", error_budgets, order=25)
    evidence.register_records(
        "budget_overrides",
        title="Error-budget gate overrides",
        columns=("gate", "reason", "signer_name", "signer_id", "signed_at"),
        rows=override_rows,
    )
    evidence.register_records(
        "deployment_watches",
        title="Post-release watches",
        columns=(
            "deployment_id",
            "environment",
            "version",
            "watch",
            "watch_from",
            "watch_until",
            "degraded_at",
            "figures",
        ),
        rows=watch_rows,
    )
