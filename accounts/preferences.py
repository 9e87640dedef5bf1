"""Changing one's own time zone: the profile page's form (its view is the profile page's,
``calendars.profile.time_zone``), and the first visit's browser guess
(``static/accounts/time_zone.js`` posts ``Intl.DateTimeFormat().resolvedOptions().timeZone``)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from . import zones


class TimeZoneForm(forms.Form):
    """A zone name from the list; checked by ``zones.time_zone_set`` (one message, one place)."""

    time_zone = forms.CharField(label="Time zone", max_length=64, widget=forms.Select)

    def __init__(self, *args, current: str = "", **kwargs):
        kwargs.setdefault("initial", {"time_zone": current})
        super().__init__(*args, **kwargs)
        widget = self.fields["time_zone"].widget
        widget.choices = [(name, name) for name in zones.choices()]
        widget.attrs.pop("maxlength", None)  # not an attribute of a <select>


@login_required
@require_POST
def browser_time_zone(request: HttpRequest) -> HttpResponse:
    """Record the browser's zone on a first visit; a zone already chosen is kept."""
    try:
        changed = zones.time_zone_set(
            actor=request.user,
            user=request.user,
            time_zone=request.POST.get("time_zone", ""),
            only_if_unset=True,
        )
    except ValidationError as error:
        return JsonResponse(error.message_dict, status=400)
    name = zones.stored(request.user)
    zones.remember(request, name)
    return JsonResponse({"time_zone": name, "changed": changed})
