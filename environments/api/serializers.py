"""API shapes for environments, bookings, the waitlist, maintenance and deployments.

Serializers check the shape of input (types, lengths, known slugs and ids) and render output;
every rule about bookings (overlaps, maintenance, booking rules, who may book for which team) is
``environments.services``' job, so the API answers exactly like the admin and the pages do. The
platform's base ``Serializer`` (``relcal.api.serializers``) refuses naive datetimes, moments out
of range and NUL characters before anything reaches the database. Deployments have their own
module, ``deployments`` (a start, steps, a finish and rollbacks); this one keeps what an
environment shows of its current deployment.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from environments.models import (
    Booking,
    BookingState,
    Deployment,
    Environment,
    MaintenanceWindow,
    WaitlistEntry,
)
from environments.privacy import conceal
from environments.services.bookings import MAX_ACQUIRE_MINUTES
from relcal.api.fields import BoundedDateTimeField
from relcal.api.serializers import RefusesNul, Serializer
from releases import selectors as release_selectors
from releases.api.serializers import ReadinessSerializer
from releases.models import Release, Team

# The availability range defaults to a week and may not exceed two months: free/busy for a
# longer range is a report, not a question a pipeline or a page asks.
DEFAULT_RANGE = timedelta(days=7)
LONGEST_RANGE = timedelta(days=62)
BOOKING_STATES = ", ".join(BookingState.values)


def _environment_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Environment.objects.all(),
        help_text="The environment's slug, e.g. `staging`.",
        **kwargs,
    )


def _team_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        help_text="Slug of the team the booking is for; you must be a member (or a release "
        "manager).",
        **kwargs,
    )


@extend_schema_field({"type": "integer", "nullable": True})
class VisibleReleaseField(serializers.PrimaryKeyRelatedField):
    """A release id, limited to the releases the requesting user may see (others are "not
    found", exactly as in the release API)."""

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return release_selectors.visible_releases(user, Release.objects.all())


def _release_field(**kwargs) -> VisibleReleaseField:
    kwargs.setdefault("help_text", "Id of the release this is for (optional).")
    return VisibleReleaseField(required=False, allow_null=True, **kwargs)


class HidesInvisibleRelease:
    """Leaves out the release of a row annotated ``release_visible=False`` (see
    ``environments.selectors.with_release_visibility``): a private team's release stays
    unnamed to people who may not see it."""

    release_fields = ("release", "release_name")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not getattr(instance, "release_visible", True):
            for name in self.release_fields:
                if name in data:
                    data[name] = None
        return data


class ConcealsPrivateTeams:
    """Shows a private team's booking or waitlist entry as ``environments.privacy`` says to a
    reader who may not see the team: the slot is taken, by "a private team"."""

    def to_representation(self, instance):
        request = self.context.get("request")
        if request is not None:
            conceal(request.user, [instance])
        return super().to_representation(instance)


# --- Error shapes (for the schema) --------------------------------------------------------------


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="One sentence for a person.")


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class BookingSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    environment = serializers.CharField()
    team = serializers.CharField()
    purpose = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    booked_by = serializers.CharField(allow_null=True)


class ConflictSerializer(DetailSerializer):
    """A 409: who holds the slot (``conflict``) and the next free slot of the same length."""

    conflict = BookingSummarySerializer(allow_null=True, help_text="The booking in the way.")
    suggested = SlotSerializer(
        allow_null=True, help_text="The next free slot as long as the one asked for, if any."
    )


class TeamSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["slug", "name", "color"]
        read_only_fields = fields


# --- Deployments (what runs on an environment; the deployments themselves: ``deployments``) --


class CurrentDeploymentSerializer(HidesInvisibleRelease, Serializer):
    """What runs on an environment now, as part of the environment."""

    release_name = serializers.CharField(
        source="release.name", read_only=True, allow_null=True, default=None
    )
    deployed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Deployment
        fields = ["id", "version", "release", "release_name", "deployed_at", "deployed_by", "note"]
        read_only_fields = fields


# --- Environments ---------------------------------------------------------------------------


class EnvironmentSerializer(Serializer):
    """An environment, its booking rules and what is deployed there. PATCH changes the rules,
    URL and description (owners and release managers); the rest is set in the admin."""

    owner_team = TeamSummarySerializer(read_only=True, allow_null=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    current_deployment = serializers.SerializerMethodField(
        help_text="What was last reported deployed there (null if nothing yet)."
    )

    class Meta:
        model = Environment
        fields = [
            "id",
            "name",
            "slug",
            "kind",
            "kind_label",
            "owner_team",
            "url",
            "description",
            "bookable",
            "max_booking_minutes",
            "min_notice_minutes",
            "max_active_bookings_per_team",
            "current_deployment",
            "updated_at",
        ]
        read_only_fields = ["id", "name", "slug", "kind", "updated_at"]

    @extend_schema_field(CurrentDeploymentSerializer(allow_null=True))
    def get_current_deployment(self, environment: Environment) -> dict | None:
        deployment = environment.current_deployment
        if deployment is None:
            return None
        # The viewset annotates the environment with the visibility of this release.
        deployment.release_visible = getattr(environment, "release_visible", True)
        return CurrentDeploymentSerializer(deployment, context=self.context).data


# --- Bookings -------------------------------------------------------------------------------


class BookingSerializer(ConcealsPrivateTeams, HidesInvisibleRelease, Serializer):
    environment = _environment_field()
    environment_name = serializers.CharField(source="environment.name", read_only=True)
    team = _team_field()
    team_name = serializers.CharField(source="team.name", read_only=True)
    team_color = serializers.CharField(source="team.color", read_only=True)
    release = _release_field()
    release_name = serializers.CharField(
        source="release.name", read_only=True, allow_null=True, default=None
    )
    booked_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # A plain string on output: the enum clients send is the list filter's.
    state = serializers.CharField(read_only=True, help_text=f"One of: {BOOKING_STATES}.")
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "environment",
            "environment_name",
            "team",
            "team_name",
            "team_color",
            "release",
            "release_name",
            "purpose",
            "start",
            "end",
            "state",
            "state_label",
            "booked_by",
            "created_at",
            "updated_at",
            "ended_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at", "ended_at"]
        extra_kwargs = {
            "start": {"help_text": "Inclusive, with a UTC offset."},
            "end": {"help_text": "Exclusive, with a UTC offset: `[start, end)`."},
        }
        # Times and overlaps are checked by the service, which names the conflicting booking.
        validators = []


class AcquireSerializer(RefusesNul, serializers.Serializer):
    """Hold the environment from now for ``minutes`` (a CI run)."""

    team = _team_field()
    minutes = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ACQUIRE_MINUTES,
        help_text="How long to hold it, from now.",
    )
    purpose = serializers.CharField(max_length=200, help_text="Shown to everyone, e.g. the job.")
    release = _release_field()


class ExtendSerializer(RefusesNul, serializers.Serializer):
    end = BoundedDateTimeField(
        help_text="The new end, with a UTC offset. Earlier than now's end shortens the "
        "booking (the freed time goes to the waitlist)."
    )


# --- Availability ---------------------------------------------------------------------------


class AvailabilityQuerySerializer(RefusesNul, serializers.Serializer):
    start = BoundedDateTimeField(required=False, help_text="Default: now.")
    end = BoundedDateTimeField(
        required=False, help_text="Default: a week after start; at most 62 days after it."
    )

    def validate(self, attrs):
        start = attrs.get("start") or timezone.now()
        end = attrs.get("end") or start + DEFAULT_RANGE
        if end <= start:
            raise serializers.ValidationError({"end": "The range must end after it starts."})
        if end - start > LONGEST_RANGE:
            raise serializers.ValidationError(
                {"end": f"Ask for at most {LONGEST_RANGE.days} days at a time."}
            )
        return {"start": start, "end": end}


class BusySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["booking", "maintenance"], read_only=True)
    start = serializers.DateTimeField(read_only=True)
    end = serializers.DateTimeField(read_only=True)
    who = serializers.CharField(read_only=True, help_text="The team holding it, or `Maintenance`.")
    why = serializers.CharField(read_only=True, help_text="The booking's purpose or the reason.")
    team = serializers.SerializerMethodField()
    booking = serializers.SerializerMethodField(help_text="The booking's id, for bookings.")
    booked_by = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_team(self, busy) -> str | None:
        return busy.booking.team.slug if busy.booking is not None else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_booking(self, busy) -> int | None:
        return busy.booking.pk if busy.booking is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_booked_by(self, busy) -> str | None:
        if busy.booking is None or busy.booking.booked_by is None:
            return None
        return busy.booking.booked_by.get_username()


class FreeSerializer(serializers.Serializer):
    start = serializers.DateTimeField(read_only=True)
    end = serializers.DateTimeField(read_only=True)


class AvailabilitySerializer(serializers.Serializer):
    environment = serializers.CharField(source="environment.slug", read_only=True)
    start = serializers.DateTimeField(read_only=True)
    end = serializers.DateTimeField(read_only=True)
    busy = BusySerializer(many=True, read_only=True)
    free = serializers.SerializerMethodField()

    @extend_schema_field(FreeSerializer(many=True))
    def get_free(self, availability) -> list[dict]:
        return FreeSerializer(
            [{"start": start, "end": end} for start, end in availability.free], many=True
        ).data


# --- Waitlist and maintenance -----------------------------------------------------------------


class WaitlistEntrySerializer(ConcealsPrivateTeams, Serializer):
    environment = _environment_field()
    team = _team_field()
    team_name = serializers.CharField(source="team.name", read_only=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    state = serializers.CharField(read_only=True, help_text="waiting, granted or withdrawn.")
    granted_booking = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The booking made when the slot freed up (null until then).",
    )

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "environment",
            "team",
            "team_name",
            "start",
            "end",
            "purpose",
            "state",
            "requested_by",
            "created_at",
            "granted_booking",
            "granted_at",
        ]
        read_only_fields = ["id", "created_at", "granted_at"]
        validators = []


class MaintenanceWindowSerializer(Serializer):
    environment = _environment_field()
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "environment", "start", "end", "reason", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]
        validators = []


# --- The deploy check ---------------------------------------------------------------------------


class DeployCheckInputSerializer(RefusesNul, serializers.Serializer):
    release = VisibleReleaseField(
        required=False, help_text="The release's id; or give `team` and `version`."
    )
    team = serializers.SlugField(required=False, help_text="The team's slug, with `version`.")
    version = serializers.CharField(required=False, max_length=50)
    environment = _environment_field()

    def validate(self, data):
        if "release" in data:
            if "team" in data or "version" in data:
                raise serializers.ValidationError(
                    {"release": "Give the release, or its team and version, not both."}
                )
            return data
        if not data.get("team") or not data.get("version"):
            raise serializers.ValidationError(
                {"release": "Give the release's id, or its team's slug and its version."}
            )
        user = self.context["request"].user
        found = (
            release_selectors.visible_releases(user, Release.objects.all())
            .filter(team__slug=data["team"], version=data["version"])
            .order_by("-go_live")
            .first()
        )
        if found is None:  # the same answer whether it does not exist or may not be seen
            raise serializers.ValidationError(
                {"version": f"No release {data['version']} of the team “{data['team']}”."}
            )
        return {"release": found, "environment": data["environment"]}


class DeployCheckSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="One sentence: may it deploy, and if not why.")
    environment = serializers.CharField()
    required = serializers.BooleanField(
        help_text="Whether this environment needs GO (production environments do)."
    )
    readiness = ReadinessSerializer()
