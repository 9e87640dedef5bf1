"""API shapes for release planning.

Serializers check the shape of input (types, lengths, choices, known related objects) and render
output; every rule about the domain (windows, freezes, cycles, permissions) is the services' job,
so the API answers exactly like the admin and the pages do.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from relcal.api.serializers import RefusesNul, Serializer
from releases import gates, selectors, services
from releases.models import (
    DependencyKind,
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ReleaseTransition,
    ScopeItem,
    Team,
)

User = get_user_model()

STATES = ", ".join(ReleaseState.values)


def _username_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs
    )


class VisibleReleasesMixin:
    """Release ids in ``release_fields`` accept only releases the requesting user may see, so a
    private release answers exactly like an id that does not exist (the same 400), whatever the
    user may do with the releases they can see."""

    release_fields: tuple[str, ...] = ("release",)

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for name in self.release_fields:
            field = fields.get(name)
            if field is not None and not field.read_only:
                field.queryset = selectors.visible_releases(user, Release.objects.all())
        return fields


class CreateOnlyReleaseMixin(VisibleReleasesMixin):
    """``release`` is given on create; a milestone or scope item never moves to another one."""

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["release"].read_only = True
        return fields


# --- Teams --------------------------------------------------------------------------------


class TeamSerializer(Serializer):
    members = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True, help_text="Usernames."
    )

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "contact", "color", "is_private", "members", "updated_at"]
        read_only_fields = ["id", "updated_at"]


# --- Releases -----------------------------------------------------------------------------


class ReleaseSerializer(Serializer):
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="The owning team's slug."
    )
    team_name = serializers.CharField(source="team.name", read_only=True)
    manager = _username_field(
        required=False,
        allow_null=True,
        help_text="Username of the release manager; defaults to whoever creates the release.",
    )
    # Read-only states are plain strings: the one enum of states in the schema is the one a
    # client sends (TransitionInput.to_state), so generated clients get a single type for it.
    state = serializers.CharField(read_only=True, help_text=f"One of: {STATES}.")
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    allowed_transitions = serializers.SerializerMethodField(
        help_text="States this release may move to next, in the order shown to users."
    )
    window_closes_at = serializers.SerializerMethodField(
        help_text="End of the deployment window: window_end, or one hour after go_live."
    )

    class Meta:
        model = Release
        fields = [
            "id",
            "name",
            "version",
            "team",
            "team_name",
            "description",
            "manager",
            "go_live",
            "window_end",
            "window_closes_at",
            "strategy",
            "rollback_plan",
            "rollback_rehearsed_on",
            "state",
            "state_label",
            "allowed_transitions",
            "freeze_override_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness and the model's constraints are checked by the service, with field names.
        validators = []

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_transitions(self, release: Release) -> list[str]:
        return services.allowed_transitions(release)

    @extend_schema_field(serializers.DateTimeField())
    def get_window_closes_at(self, release: Release) -> str:
        # Formatted like every other datetime field, not by the renderer's fallback.
        return serializers.DateTimeField().to_representation(release.window[1])


class ReleaseTransitionSerializer(Serializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    from_state = serializers.CharField(read_only=True)
    to_state = serializers.CharField(read_only=True)
    from_state_label = serializers.CharField(source="get_from_state_display", read_only=True)
    to_state_label = serializers.CharField(source="get_to_state_display", read_only=True)

    class Meta:
        model = ReleaseTransition
        fields = [
            "id",
            "release",
            "from_state",
            "from_state_label",
            "to_state",
            "to_state_label",
            "actor",
            "reason",
            "at",
        ]
        read_only_fields = ["id", "release", "reason", "at"]


def allowed_next_states(release: Release) -> str:
    names = [ReleaseState(s).label for s in services.allowed_transitions(release)]
    return (
        f"Allowed next states from {release.get_state_display()}: "
        f"{', '.join(names) or 'none (it is final)'}."
    )


class TransitionInputSerializer(Serializer):
    """Where to move a release, and why (required when going back, rolling back or cancelling)."""

    class Meta:
        model = ReleaseTransition
        fields = ["to_state", "reason"]

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            release = self.context.get("release")
            if release is not None and isinstance(exc.detail, dict) and "to_state" in exc.detail:
                exc.detail["to_state"].append(allowed_next_states(release))
            raise


# --- What hangs off a release -------------------------------------------------------------


class MilestoneSerializer(CreateOnlyReleaseMixin, Serializer):
    label = serializers.CharField(read_only=True)
    all_day = serializers.BooleanField(read_only=True)

    class Meta:
        model = Milestone
        fields = ["id", "release", "kind", "title", "label", "date", "at", "all_day", "done"]
        read_only_fields = ["id"]
        extra_kwargs = {
            "date": {"help_text": "For an all-day milestone; give this or `at`, not both."},
            "at": {"help_text": "For a milestone at a set time; give this or `date`."},
        }


class ScopeItemSerializer(CreateOnlyReleaseMixin, Serializer):
    owner = _username_field(required=False, allow_null=True, help_text="Username.")

    class Meta:
        model = ScopeItem
        fields = [
            "id",
            "release",
            "title",
            "kind",
            "ticket_key",
            "ticket_url",
            "owner",
            "done",
            "blocker",
        ]
        # Progress is set with POST /releases/{id}/scope-progress/, also once the scope froze.
        read_only_fields = ["id", "done", "blocker"]


class ScopeProgressInputSerializer(RefusesNul, serializers.Serializer):
    """Progress of the scope items with one ticket key, as a tracker or CI reports it: give
    `done`, `blocker` or both."""

    ticket_key = serializers.CharField(max_length=50, help_text="e.g. PAY-12.")
    # Null (or left out) keeps the stored value.
    done = serializers.BooleanField(
        allow_null=True, default=None, help_text="Delivered; leave out to keep as is."
    )
    blocker = serializers.BooleanField(
        allow_null=True,
        default=None,
        help_text="The release may not ship while this item is not done; leave out to keep as is.",
    )


class ScopeProgressSerializer(Serializer):
    class Meta:
        model = ScopeItem
        fields = ["id", "ticket_key", "title", "done", "blocker"]
        read_only_fields = fields


class DependencySerializer(VisibleReleasesMixin, Serializer):
    release_fields = ("release", "depends_on")
    release_name = serializers.CharField(source="release.name", read_only=True)
    depends_on_name = serializers.CharField(source="depends_on.name", read_only=True)

    class Meta:
        model = ReleaseDependency
        fields = [
            "id",
            "release",
            "release_name",
            "kind",
            "depends_on",
            "depends_on_name",
            "note",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "release": {"help_text": "Id of the release that depends on the other."},
            "depends_on": {"help_text": "Id of the release it depends on."},
            "kind": {"default": DependencyKind.NEEDS},
        }
        # The service names the pair (either way round) and any cycle it would close.
        validators = []


class FreezeWindowSerializer(Serializer):
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="Team slug; leave empty (null) to freeze every team.",
    )
    scope_label = serializers.CharField(read_only=True)

    class Meta:
        model = FreezeWindow
        fields = ["id", "name", "reason", "start", "end", "team", "scope_label", "updated_at"]
        read_only_fields = ["id", "updated_at"]


# --- Readiness ----------------------------------------------------------------------------


class GateRowSerializer(serializers.Serializer):
    name = serializers.CharField(source="gate.name", help_text="e.g. checks, signoffs.")
    label = serializers.CharField(source="gate.label")
    state = serializers.ChoiceField(choices=[state.value for state in gates.GateState])
    reason = serializers.CharField(source="result.reason", help_text="Why, in one line.")
    link = serializers.CharField(
        source="result.link", help_text="Where to look (a failing check's run), or empty."
    )
    deployment = serializers.BooleanField(
        source="gate.deployment",
        help_text="About the deployment itself: not needed to reach approved.",
    )
    waiver = serializers.CharField(help_text="Who waived the failing gate and why, or empty.")


class ReadinessSerializer(serializers.Serializer):
    release = serializers.IntegerField(source="release.pk")
    name = serializers.CharField(source="release.name")
    version = serializers.CharField(source="release.version")
    state = serializers.CharField(source="release.state")
    verdict = serializers.ChoiceField(
        choices=[verdict.value for verdict in gates.Verdict],
        help_text="GO: every gate passes or is waived; NO-GO: one fails; PENDING: none fails, "
        "one waits for a report.",
    )
    gates = GateRowSerializer(source="rows", many=True)
