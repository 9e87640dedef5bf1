"""Forms for the environment pages.

They parse input into Python values and nothing more: overlaps, maintenance, booking rules and
who may book for which team are decided by ``environments.services``, whose refusals go back on
the form (``add_service_errors``) or, for a conflict, into the conflict box of the booking page.
Times are entered with the browser's date-and-time picker, in the current time zone; hidden
inputs (the "book this slot instead" button) carry exact ISO 8601 moments with their offset,
which Django's DateTimeField reads as they are.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from relcal.forms import DateTimeLocalInput, PageForm, model_field
from relcal.times import OUT_OF_RANGE, as_utc
from releases import selectors as release_selectors
from releases.forms import ReleaseChoiceField
from releases.models import Release, ReleaseState, Team

from . import permissions as perms
from .models import Booking, Environment, MaintenanceWindow


class MomentField(forms.DateTimeField):
    """A date and time in the current zone, refused (not a 500 later) when it lies so near the
    ends of the calendar that converting it to UTC or adding an hour would overflow."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is not None and as_utc(moment) is None:
            raise ValidationError(OUT_OF_RANGE, code="out_of_range")
        return moment


def moment_field(model, name: str, **overrides) -> MomentField:
    overrides.setdefault("widget", DateTimeLocalInput)
    return model_field(model, name, form_class=MomentField, **overrides)


def bookable_teams(user) -> QuerySet[Team]:
    """The teams ``user`` may book for: every team for release managers, else their own."""
    teams = Team.objects.order_by("name")
    return teams if perms.is_release_manager(user) else teams.filter(members=user)


def may_book(user) -> bool:
    return perms.is_release_manager(user) or (user.is_authenticated and user.teams.exists())


def _environment_label(environment: Environment) -> str:
    kind = environment.get_kind_display()
    if kind.lower() == environment.name.lower():
        return environment.name
    return f"{environment.name} ({kind.lower()})"


class SlotForm(PageForm):
    """Environment, team, purpose and ``[start, end)``: what a booking and a waitlist entry
    share."""

    environment = forms.ModelChoiceField(
        queryset=Environment.objects.filter(bookable=True).order_by("name"),
        to_field_name="slug",
        empty_label="Choose an environment",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label="Choose a team")
    purpose = model_field(Booking, "purpose", help_text="Shown to everyone on the timeline.")
    start = moment_field(Booking, "start")
    end = moment_field(Booking, "end")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = bookable_teams(user)
        self.fields["team"].queryset = teams
        self.fields["environment"].label_from_instance = _environment_label
        # Most people are in one team: there is nothing to choose, so it is chosen for them.
        only = list(teams[:2])
        if len(only) == 1:
            self.fields["team"].empty_label = None
            self.initial.setdefault("team", only[0].pk)


# Releases the booking form lists (the soonest to go live); any other still ahead is accepted.
RELEASES_SHOWN = 50


class BookingForm(SlotForm):
    id_prefix = "booking"
    release = ReleaseChoiceField(
        queryset=Release.objects.none(),
        required=False,
        empty_label="No release",
        help_text="The release this booking prepares, if any.",
    )
    field_order = ["environment", "team", "release", "purpose", "start", "end"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        # Releases still ahead that the user may see, soonest first: any of them is valid, but
        # only the soonest are listed (and the one chosen, e.g. by a release page's "book"
        # link), so that the form does not carry the whole table.
        field = self.fields["release"]
        candidates = (
            release_selectors.visible_releases(user, Release.objects.select_related("team"))
            .exclude(state__in=(ReleaseState.RELEASED, ReleaseState.CANCELLED))
            .order_by("go_live", "id")
        )
        field.queryset = candidates
        shown = list(candidates[:RELEASES_SHOWN])
        chosen = str(self["release"].value() or "")
        if chosen.isdigit() and all(str(r.pk) != chosen for r in shown):
            shown = [*candidates.filter(pk=int(chosen)), *shown]
        # Set after the queryset: assigning a queryset would put every candidate back.
        field.widget.choices = [
            ("", field.empty_label),
            *((r.pk, field.label_from_instance(r)) for r in shown),
        ]


class WaitlistForm(SlotForm):
    id_prefix = "waitlist"


class ExtendForm(forms.Form):
    end = moment_field(Booking, "end", label="New end")


class MaintenanceForm(PageForm):
    id_prefix = "maintenance"
    start = moment_field(MaintenanceWindow, "start")
    end = moment_field(MaintenanceWindow, "end")
    reason = model_field(MaintenanceWindow, "reason")


class RulesForm(PageForm):
    """What the owning team may change about its environment."""

    id_prefix = "rules"
    bookable = model_field(Environment, "bookable", help_text="Open for booking.")
    max_booking_minutes = model_field(Environment, "max_booking_minutes")
    min_notice_minutes = model_field(Environment, "min_notice_minutes")
    max_active_bookings_per_team = model_field(Environment, "max_active_bookings_per_team")
    url = model_field(Environment, "url", assume_scheme="https")
    description = model_field(Environment, "description", widget=forms.Textarea(attrs={"rows": 3}))

    @classmethod
    def initial_for(cls, environment: Environment) -> dict:
        return {name: getattr(environment, name) for name in cls.base_fields}
