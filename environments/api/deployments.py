"""API shapes for deployments: the answer (with its steps, outcome and rollbacks) and the input
of each call a pipeline makes (start or report, step, finish, rollback).

The serializers check the shape (types, lengths, known slugs and ids the reader may see); every
rule about deployments (one running per environment, steps going up, what a rollback may undo,
the release's lifecycle) is ``environments.services.deployments``' job.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from environments.models import Deployment, DeploymentOutcome
from relcal.api.fields import BoundedDateTimeField, JSONField
from relcal.api.serializers import RefusesNul, Serializer
from releases import selectors as release_selectors
from releases.models import DeploymentStrategy, Release

from .serializers import HidesInvisibleRelease, VisibleReleaseField, _environment_field

# The build model (approvals' ReleaseCandidate), reached through the relation: environments
# does not import approvals.
Candidate = Deployment._meta.get_field("candidate").related_model
STRATEGIES = ", ".join(DeploymentStrategy.values)
STARTED_OR_OVER = [
    (DeploymentOutcome.IN_PROGRESS, "in progress: start it"),
    (DeploymentOutcome.SUCCEEDED, "succeeded"),
    (DeploymentOutcome.FAILED, "failed"),
]
FINISHED = [(DeploymentOutcome.SUCCEEDED, "succeeded"), (DeploymentOutcome.FAILED, "failed")]


@extend_schema_field({"type": "integer", "nullable": True})
class VisibleCandidateField(serializers.PrimaryKeyRelatedField):
    """A build's id, limited to builds of releases the requesting user may see."""

    def get_queryset(self):
        request = self.context.get("request")
        visible = release_selectors.visible_releases(
            getattr(request, "user", None), Release.objects.all()
        )
        return Candidate.objects.filter(release__in=visible.values("pk"))


@extend_schema_field({"type": "array", "items": {"type": "number"}, "example": [5, 25, 100]})
class PercentagesField(JSONField):
    """Percentages as JSON numbers (5, not 5.0); the service checks that they go up to 100."""


@extend_schema_field({"type": "number", "example": 25})
class PercentField(JSONField):
    pass


class StepSerializer(serializers.Serializer):
    percent = PercentField(read_only=True, help_text="How far the rollout got, in percent.")
    at = serializers.DateTimeField(read_only=True, help_text="When it got there.")


class DeploymentSerializer(HidesInvisibleRelease, Serializer):
    """A deployment: where, what, how (strategy and steps), by whom, when and how it ended."""

    release_fields = ("release", "release_name", "candidate", "candidate_version")

    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    release_name = serializers.CharField(
        source="release.name", read_only=True, allow_null=True, default=None
    )
    candidate_version = serializers.CharField(
        source="candidate.version", read_only=True, allow_null=True, default=None
    )
    deployed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    strategy_label = serializers.CharField(source="get_strategy_display", read_only=True)
    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    planned_steps = PercentagesField(read_only=True, help_text="The steps planned, in percent.")
    steps = StepSerializer(many=True, read_only=True, help_text="The steps reached, in order.")
    rollbacks = serializers.SerializerMethodField(
        help_text="Ids of the rollbacks of this deployment, oldest first."
    )
    in_progress = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id",
            "environment",
            "version",
            "release",
            "release_name",
            "candidate",
            "candidate_version",
            "strategy",
            "strategy_label",
            "planned_steps",
            "steps",
            "outcome",
            "outcome_label",
            "in_progress",
            "deployed_at",
            "finished_at",
            "degraded_at",
            "deployed_by",
            "note",
            "client_id",
            "rollback_of",
            "rollbacks",
            "move_release",
            "hotfix",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "deployed_at": {"help_text": "When it started."},
            "finished_at": {"help_text": "When it finished (null while in progress)."},
            "degraded_at": {
                "help_text": "When the post-release watch saw a page-level burn of a service the "
                "release touches (null: not degraded)."
            },
        }

    def get_rollbacks(self, deployment: Deployment) -> list[int]:
        # Prefetched by ``environments.selectors.deployments``: no query per row.
        return [rollback.pk for rollback in deployment.rollbacks.all()]

    def get_in_progress(self, deployment: Deployment) -> bool:
        return deployment.outcome == DeploymentOutcome.IN_PROGRESS


class DeploymentInputSerializer(RefusesNul, serializers.Serializer):
    """``POST /deployments/``: start one (``outcome: in_progress``), or report one that is over
    (``succeeded``, the default, or ``failed``; ``deployed_at``/``finished_at`` default to now)."""

    environment = _environment_field()
    release = VisibleReleaseField(
        required=False, allow_null=True, default=None, help_text="The release's id (optional)."
    )
    candidate = VisibleCandidateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The build's id (optional; names its release when `release` is left out).",
    )
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="What is deployed, e.g. a tag; default the build's version, else the release's.",
    )
    strategy = serializers.ChoiceField(
        choices=DeploymentStrategy.choices,
        default=DeploymentStrategy.BIG_BANG,
        help_text=f"One of: {STRATEGIES}.",
    )
    planned_steps = PercentagesField(
        required=False,
        default=list,
        help_text="Canary and rolling: the steps in percent, increasing, the last 100.",
    )
    outcome = serializers.ChoiceField(
        choices=STARTED_OR_OVER,
        default=DeploymentOutcome.SUCCEEDED,
        help_text="`in_progress` starts a deployment (then report its steps and finish it); "
        "`succeeded` (the default) or `failed` reports one that is over.",
    )
    deployed_at = BoundedDateTimeField(
        required=False, default=None, help_text="When it started (a report only; default now)."
    )
    finished_at = BoundedDateTimeField(
        required=False, default=None, help_text="When it finished (a report only; default now)."
    )
    client_id = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="Your pipeline's id for this deployment: sending it again returns the same "
        "deployment (200) instead of a second one.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)
    rollback_of = serializers.PrimaryKeyRelatedField(
        queryset=Deployment.objects.select_related("environment", "release"),
        required=False,
        allow_null=True,
        default=None,
        help_text="The id of the deployment this one undoes (a rollback).",
    )
    move_release = serializers.BooleanField(
        required=False,
        default=True,
        help_text="In production, move the release (to deploying, released or rolled back); "
        "false leaves it as it is.",
    )
    hotfix = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A fix for a change already deployed there: in production, the team's latest "
        "change before it (within the watch window) counts as a failed change.",
    )

    def validate(self, data):
        if data["outcome"] == DeploymentOutcome.IN_PROGRESS:
            for name in ("deployed_at", "finished_at"):
                if data.get(name) is not None:
                    raise serializers.ValidationError(
                        {
                            name: "A deployment starts now; give times only for one that is "
                            "over (outcome succeeded or failed)."
                        }
                    )
            data.pop("deployed_at", None)
            data.pop("finished_at", None)
        return data


class StepInputSerializer(serializers.Serializer):
    percent = serializers.FloatField(
        help_text="How far the rollout got, in percent (above 0, at most 100, going up)."
    )


class FinishInputSerializer(RefusesNul, serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=FINISHED,
        error_messages={
            "invalid_choice": "“{input}” is not an outcome to finish with: succeeded or failed "
            "(a deployment becomes rolled_back when a rollback of it succeeds)."
        },
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)
    move_release = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Override what the start said: false leaves the release as it is.",
    )


class RollbackInputSerializer(RefusesNul, serializers.Serializer):
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="The version to go back to; default the one that ran there before.",
    )
    client_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)
    move_release = serializers.BooleanField(
        required=False,
        default=True,
        help_text="In production, move the release to rolled back when the rollback succeeds.",
    )


# --- Error shapes (for the schema) --------------------------------------------------------------


class DeploymentSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    environment = serializers.CharField()
    version = serializers.CharField()
    release = serializers.IntegerField(allow_null=True)
    release_name = serializers.CharField(allow_null=True)
    outcome = serializers.CharField()
    deployed_by = serializers.CharField(allow_null=True)
    deployed_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class DeploymentConflictSerializer(serializers.Serializer):
    """A 409: the deployment in the way (running, finished, later, or under that client id)."""

    detail = serializers.CharField(help_text="One sentence for a person.")
    deployment = DeploymentSummarySerializer(allow_null=True)
