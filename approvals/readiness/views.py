"""The waiver form on the release page's Readiness panel: a change advisory board member lets a
failing gate pass for the current build, with a reason and their password (an electronic
signature, as in the API). Post/redirect/get: the answer is a message on the release page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods

from accounts import signatures
from relcal.errors import Conflict
from releases.selectors import visible_release_q

from . import services
from .models import ReleaseCandidate


class WaiverForm(forms.Form):
    gate = forms.CharField(max_length=50, widget=forms.HiddenInput)
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
def waive(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    if not services.can_waive(request.user):
        raise PermissionDenied("Only the change advisory board waives gates.")
    candidate = get_object_or_404(
        ReleaseCandidate.objects.filter(
            visible_release_q(request.user, "release__")
        ).select_related("release"),
        pk=candidate_pk,
    )
    back = redirect(f"{candidate.release.get_absolute_url()}#readiness")
    signing = signatures.panel_form(
        request, WaiverForm, back=back, refused="No waiver was recorded"
    )
    if isinstance(signing, HttpResponse):
        return signing
    try:
        waiver = services.waiver_record(
            actor=request.user, request=request, candidate=candidate, **signing
        )
    except (ValidationError, Conflict) as error:
        text = " ".join(getattr(error, "messages", None) or [str(error)])
        messages.error(request, f"No waiver was recorded: {text}")
        return back
    messages.success(
        request,
        f"You waived the gate “{waiver.gate}” for {candidate.version}, signed and recorded.",
    )
    return back
