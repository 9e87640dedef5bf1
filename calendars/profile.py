"""The profile page: a user's calendar feed links (listed, named, created and revoked), how
they get each kind of reminder (right away, in a daily digest, or not at all), and the time zone
pages, forms and e-mails use for them."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import zones
from accounts.preferences import TimeZoneForm
from relcal.forms import add_service_errors
from releases.selectors import visible_teams
from reminders.models import NotificationMode
from reminders.preferences import PreferencesForm

from . import sources, tokens
from .filters import describe
from .models import FeedToken
from .pages import NEW_FEED_SESSION_KEY


class FeedTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="Where you will use it, e.g. “Google, work laptop”."
    )
    teams = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all teams."
    )
    kinds = forms.MultipleChoiceField(
        label="Events",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )
    mine = forms.BooleanField(label="Only releases I manage or watch", required=False)

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].choices = [(t.slug, t.name) for t in teams]
        self.fields["kinds"].choices = list(sources.kinds().items())


class RenameForm(forms.Form):
    name = forms.CharField(max_length=100)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    teams = list(visible_teams(request.user))
    form = FeedTokenForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filters = {"teams": data["teams"], "kinds": data["kinds"], "mine": data["mine"]}
        try:
            token, raw = tokens.feed_token_create(
                actor=request.user, name=data["name"], filters=filters
            )
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        else:
            request.session[NEW_FEED_SESSION_KEY] = tokens.feed_links(token.name, raw)
            return redirect("profile")
    return _page(request, form, teams, status=400 if form.is_bound and form.errors else 200)


def _page(
    request: HttpRequest,
    form: FeedTokenForm,
    teams: list,
    *,
    preferences: PreferencesForm | None = None,
    time_zone_form: TimeZoneForm | None = None,
    status: int = 200,
) -> HttpResponse:
    names = {t.slug: t.name for t in teams}
    feed_tokens = [
        (token, describe(token.filters, names))
        for token in FeedToken.objects.filter(user=request.user)
    ]
    return render(
        request,
        "profile/profile.html",
        {
            "form": form,
            "feed_tokens": feed_tokens,
            "active_count": sum(1 for token, _ in feed_tokens if token.is_active),
            "new_feed": request.session.pop(NEW_FEED_SESSION_KEY, None),
            "preferences": preferences or PreferencesForm(user=request.user),
            "modes": NotificationMode.choices,
            "digest_hour": settings.RELCAL_DIGEST_HOUR,
            "time_zone": settings.TIME_ZONE,
            "time_zone_form": time_zone_form
            or TimeZoneForm(current=zones.session_zone(request) or settings.TIME_ZONE),
        },
        status=status,
    )


@login_required
@require_POST
def reminder_preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST, user=request.user)
    if not form.is_valid():  # nothing stored; the page shows the refused choices
        teams = list(visible_teams(request.user))
        return _page(request, FeedTokenForm(teams=teams), teams, preferences=form, status=400)
    changed = form.save(request.user)
    messages.success(
        request,
        "Reminder settings saved." if changed else "Reminder settings unchanged.",
    )
    return redirect(f"{reverse('profile')}#reminders")


@login_required
@require_POST
def time_zone(request: HttpRequest) -> HttpResponse:
    """Set the reader's own zone (the form has no way to name another person)."""
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        name = form.cleaned_data["time_zone"].strip()
        try:
            changed = zones.time_zone_set(actor=request.user, user=request.user, time_zone=name)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            zones.remember(request, name)
            messages.success(
                request,
                f"Times now show in {name}." if changed else f"Times already show in {name}.",
            )
            return redirect(f"{reverse('profile')}#time-zone")
    teams = list(visible_teams(request.user))
    return _page(request, FeedTokenForm(teams=teams), teams, time_zone_form=form, status=400)


def _own_token(request: HttpRequest, pk: int) -> FeedToken:
    # Another user's token is "not found": its existence is none of this user's business.
    return get_object_or_404(FeedToken, pk=pk, user=request.user)


@login_required
@require_POST
def token_rename(request: HttpRequest, pk: int) -> HttpResponse:
    token = _own_token(request, pk)
    form = RenameForm(request.POST)
    if form.is_valid():
        tokens.feed_token_rename(actor=request.user, token=token, name=form.cleaned_data["name"])
        messages.success(request, f"Feed link renamed to “{token.name}”.")
    else:
        messages.error(request, "Give the feed link a name (at most 100 characters).")
    return redirect("profile")


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = _own_token(request, pk)
    tokens.feed_token_revoke(actor=request.user, token=token)
    messages.success(
        request, f"Feed link “{token.name}” revoked: calendars using it stop updating."
    )
    return redirect("profile")
