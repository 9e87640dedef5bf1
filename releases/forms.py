"""Forms for the release pages.

They parse input into Python values and nothing more: what is allowed (freezes, cycles, dates
after go-live, frozen scope) is decided by ``releases.services``, whose ``ValidationError`` is
put back on the form with ``add_service_errors``. Field definitions are borrowed from the models
so labels, help texts, lengths and choices live in one place.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from relcal.forms import DateInput, DateTimeLocalInput, PageForm, model_field

from .filters import ReleaseFilter
from .models import (
    DependencyKind,
    FreezeWindow,
    Milestone,
    MilestoneKind,
    Release,
    ReleaseDependency,
    ReleaseState,
    ReleaseTransition,
    ScopeItem,
)
from .selectors import UNSHIPPED_STATES, dependency_candidates
from .services import allowed_transitions, transition_needs_reason


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        full_name = obj.get_full_name()
        return f"{full_name} ({obj.username})" if full_name else obj.username


def _active_users():
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "username")


# --- Releases -----------------------------------------------------------------------------


class ReleaseForm(forms.Form):
    name = model_field(Release, "name")
    version = model_field(Release, "version")
    team = model_field(Release, "team", empty_label="Choose a team")
    description = model_field(Release, "description", widget=forms.Textarea(attrs={"rows": 3}))
    manager = UserChoiceField(queryset=_active_users(), required=False, label="Release manager")
    go_live = model_field(Release, "go_live", widget=DateTimeLocalInput)
    window_end = model_field(Release, "window_end", widget=DateTimeLocalInput)
    strategy = model_field(Release, "strategy")
    rollback_plan = model_field(Release, "rollback_plan", widget=forms.Textarea(attrs={"rows": 3}))
    rollback_rehearsed_on = model_field(Release, "rollback_rehearsed_on", widget=DateInput)
    freeze_override_reason = model_field(
        Release, "freeze_override_reason", widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, can_override_freeze: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_override_freeze:
            # Only people allowed to override a freeze may write the reason for doing so.
            del self.fields["freeze_override_reason"]

    @classmethod
    def initial_for(cls, release: Release) -> dict:
        return {name: getattr(release, name) for name in cls.base_fields}


class TransitionForm(PageForm):
    id_prefix = "transition"
    # Any state is accepted here so that a stale choice gets the service's answer, which names
    # the allowed next states; the select only offers the allowed ones.
    to_state = forms.ChoiceField(choices=ReleaseState.choices, label="Move to")
    reason = model_field(
        ReleaseTransition,
        "reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when going back, rolling back or cancelling; kept in the history.",
    )

    def __init__(self, *args, release: Release, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = release

    def options(self) -> list[dict]:
        """The next states, each saying whether it needs a reason (the page marks those)."""
        current = self.release.state
        chosen = self["to_state"].value()
        return [
            {
                "value": state,
                "label": ReleaseState(state).label,
                "needs_reason": transition_needs_reason(current, state),
                "selected": state == chosen,
            }
            for state in allowed_transitions(self.release)
        ]


# --- What hangs off a release -------------------------------------------------------------


class MilestoneForm(PageForm):
    id_prefix = "milestone"
    kind = model_field(Milestone, "kind", initial=MilestoneKind.CODE_FREEZE)
    title = model_field(Milestone, "title")
    date = model_field(Milestone, "date", widget=DateInput, label="Date (all-day)")
    at = model_field(Milestone, "at", widget=DateTimeLocalInput, label="Or at a time")
    done = model_field(Milestone, "done")


class ScopeItemForm(PageForm):
    id_prefix = "scope"
    title = model_field(ScopeItem, "title")
    kind = model_field(ScopeItem, "kind")
    ticket_key = model_field(ScopeItem, "ticket_key")
    ticket_url = model_field(ScopeItem, "ticket_url", assume_scheme="https")
    owner = UserChoiceField(queryset=_active_users(), required=False)


class ReleaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Release) -> str:
        day = date_format(timezone.localtime(obj.go_live), "j M Y")
        return f"{obj.name} ({obj.team.name}, {day})"


# How many releases the dependency picker shows at once; a search narrows them down.
DEPENDENCY_MATCHES = 10


class DependencyForm(PageForm):
    """Add a dependency, picking the other release from a bounded search rather than a list of
    every release (which made the release page grow with the table).

    ``search`` is the page's plain search (``?dependency_q=``, no JavaScript needed); the field
    validates against every candidate, so a release found by the page's search-as-you-type
    (``releases/dependency_search.js``, over the API) is accepted even though the server did not
    render it.
    """

    id_prefix = "dependency"
    kind = forms.ChoiceField(choices=DependencyKind.choices, label="This release")
    depends_on = ReleaseChoiceField(
        queryset=Release.objects.none(),
        label="Release",
        widget=forms.RadioSelect,
        empty_label=None,
    )
    note = model_field(ReleaseDependency, "note")

    def __init__(self, *args, release: Release, user, search: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.release = release
        self.search = search.strip()[:100]
        field = self.fields["depends_on"]
        candidates = dependency_candidates(user, release)
        field.queryset = candidates
        found = candidates
        if self.search:
            found = found.filter(Q(name__icontains=self.search) | Q(version__icontains=self.search))
        shown = list(found[: DEPENDENCY_MATCHES + 1])
        self.more_matches = len(shown) > DEPENDENCY_MATCHES
        shown = shown[:DEPENDENCY_MATCHES]
        chosen = str(self["depends_on"].value() or "")
        if chosen.isdigit() and all(str(r.pk) != chosen for r in shown):
            # A refused form keeps the user's choice on screen (one query, refusals only).
            shown = [*candidates.filter(pk=int(chosen)), *shown]
        self.matches = shown
        # Set after the queryset: assigning a queryset would put every candidate back.
        field.widget.choices = [(r.pk, field.label_from_instance(r)) for r in shown]

    def search_url(self) -> str:
        """The API query behind the search-as-you-type: the same candidates, one page of them."""
        query = urlencode(
            [("state", state) for state in UNSHIPPED_STATES]
            + [("ordering", "go_live"), ("page_size", DEPENDENCY_MATCHES + 2)]
        )
        return f"{reverse('api-v1:release-list')}?{query}"


# --- Freeze windows -----------------------------------------------------------------------


class FreezeWindowForm(forms.Form):
    name = model_field(FreezeWindow, "name")
    start = model_field(FreezeWindow, "start", widget=DateTimeLocalInput)
    end = model_field(FreezeWindow, "end", widget=DateTimeLocalInput)
    team = model_field(FreezeWindow, "team", empty_label="All teams")
    reason = model_field(FreezeWindow, "reason", widget=forms.Textarea(attrs={"rows": 2}))


# --- The release list filter --------------------------------------------------------------


class OneOrAllSelect(forms.SelectMultiple):
    """A plain single ``<select>`` with an "All …" option, for a filter that accepts several
    values: the page picks one, while links (and the API) may still repeat the parameter."""

    allow_multiple_selected = False

    def __init__(self, all_label: str):
        super().__init__()
        self.all_label = all_label

    def value_from_datadict(self, data, files, name):
        return [value for value in super().value_from_datadict(data, files, name) if value]

    def optgroups(self, name, value, attrs=None):
        everything = self.create_option(name, "", self.all_label, not value, 0)
        return [(None, [everything], 0), *super().optgroups(name, value, attrs)]


class ReleaseListFilter(ReleaseFilter):
    """``ReleaseFilter`` with widgets suited to the page's filter bar."""

    page_fields = ("q", "team", "state", "month")

    def get_form_class(self):
        form_class = super().get_form_class()
        fields = form_class.base_fields
        for name, all_label in (("team", "All teams"), ("state", "All states")):
            fields[name].widget = OneOrAllSelect(all_label)
            fields[name].widget.choices = fields[name].choices
        fields["team"].label = "Team"
        fields["q"].label = "Search"
        fields["q"].widget.attrs.update(placeholder="Name or version", type="search")
        fields["month"].label = "Go-live month"
        return form_class
