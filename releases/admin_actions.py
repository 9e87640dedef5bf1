"""The lifecycle actions on the admin's release list: one action per target state, asking for a
reason (recorded in the lifecycle history) when the move needs one, and moving each selected
release through ``releases.services.release_transition``."""

from __future__ import annotations

from functools import cache

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import reverse

from relcal.admin.service_admin import error_messages

from . import services
from .models import ReleaseState

S = ReleaseState


class TransitionReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2_000,
        help_text="Recorded in the release's lifecycle history.",
    )


@cache
def _reason_page():
    # A template string keeps this one small page next to the action that shows it.
    return engines["django"].from_string(
        """{% extends "admin/base_site.html" %}
{% block breadcrumbs %}<div class="breadcrumbs"><a href="{% url 'admin:index' %}">Home</a>
&rsaquo; <a href="{{ changelist_url }}">Releases</a> &rsaquo; {{ title }}</div>{% endblock %}
{% block content %}
<form method="post">{% csrf_token %}
<p>{{ question }}</p>
<ul>{% for release in needing %}<li>{{ release }} ({{ release.get_state_display }})</li>
{% endfor %}</ul>
<fieldset class="module aligned">{{ form.as_div }}</fieldset>
{% for release in releases %}
<input type="hidden" name="_selected_action" value="{{ release.pk }}">{% endfor %}
<input type="hidden" name="action" value="{{ action }}">
<input type="hidden" name="apply" value="yes">
<div class="submit-row"><input type="submit" class="default" value="{{ label }}">
<a href="{{ changelist_url }}" class="button cancel-link">No, take me back</a></div>
</form>
{% endblock %}"""
    )


# Target state -> action label, in the order the action menu lists them.
TRANSITION_ACTIONS = {
    S.PLANNED: "Move to Planned",
    S.SCOPE_FROZEN: "Freeze scope",
    S.TESTING: "Move to Testing",
    S.APPROVED: "Mark as Approved",
    S.DEPLOYING: "Start deploying",
    S.RELEASED: "Mark as Released",
    S.ROLLED_BACK: "Roll back",
    S.CANCELLED: "Cancel",
    S.DRAFT: "Move back to Draft",
}


def _transition_action(to_state: str, label: str):
    def action(modeladmin: TransitionActions, request, queryset):
        return modeladmin.transition_selected(request, queryset, to_state)

    action.__name__ = f"transition_to_{to_state}"
    return admin.action(description=label, permissions=["transition"])(action)


TRANSITION_ACTIONS_LIST = [
    _transition_action(state, label) for state, label in TRANSITION_ACTIONS.items()
]


class TransitionActions:
    """Mixed into the release admin: the transition actions' permission and their body."""

    def has_transition_permission(self, request) -> bool:
        return request.user.has_perm("releases.transition_release")

    def transition_selected(
        self, request: HttpRequest, queryset, to_state: str
    ) -> HttpResponse | None:
        releases = list(queryset.select_related("team"))
        needing = [
            release
            for release in releases
            if to_state in services.TRANSITIONS[release.state]
            and services.transition_needs_reason(release.state, to_state)
        ]
        form = TransitionReasonForm(request.POST if "apply" in request.POST else None)
        if needing and not form.is_valid():
            return self._ask_reason(request, releases, needing, form, to_state)
        reason = form.cleaned_data["reason"] if form.is_bound and form.is_valid() else ""
        for release in releases:
            try:
                step = services.release_transition(
                    actor=request.user, release=release, to_state=to_state, reason=reason
                )
            except (ValidationError, PermissionDenied) as error:
                message = " ".join(error_messages(error))
                self.message_user(request, f"{release}: {message}", messages.ERROR)
            else:
                moved = f"{S(step.from_state).label} → {S(step.to_state).label}"
                self.message_user(request, f"{release}: {moved}.", messages.SUCCESS)
        return None

    def _ask_reason(self, request, releases, needing, form, to_state) -> TemplateResponse:
        label = TRANSITION_ACTIONS[to_state]
        names = ", ".join(str(release) for release in needing)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{label}: give a reason",
            "question": f"{label} for {names} needs a reason, recorded in the lifecycle history.",
            "releases": releases,
            "needing": needing,
            "form": form,
            "label": label,
            "action": f"transition_to_{to_state}",
            "changelist_url": reverse("admin:releases_release_changelist"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, _reason_page(), context)
