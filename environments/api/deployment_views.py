"""The deployments API: what ran where, and the calls a pipeline makes while it deploys.

``POST /deployments/`` starts a deployment (``"outcome": "in_progress"``) or reports one that
is over (``succeeded``, the default, or ``failed``); then ``POST /deployments/{id}/steps/``
for each step reached, ``POST /deployments/{id}/finish/`` with the outcome, and
``POST /deployments/{id}/rollback/`` to undo it. A call sent again (a retry) answers 200 with the
deployment as it is instead of storing anything twice: starts by their ``client_id``, a step
already reached, a finish with the outcome already recorded. Refusals: 400 naming the field,
403, 409 naming the deployment in the way; nothing is stored then.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from environments import selectors, services
from environments.filters import DeploymentFilter
from environments.models import Deployment, DeploymentOutcome
from relcal.api.filters import FILTERS
from relcal.api.views import ID, call_service
from relcal.db import reread

from . import deployments as d
from . import examples as ex
from .views import ERRORS, WRITE_ERRORS

CONFLICT = {
    409: OpenApiResponse(
        d.DeploymentConflictSerializer,
        description="`detail` says what is in the way; `deployment` is that deployment.",
    )
}
ANSWER = {200: d.DeploymentSerializer}


@extend_schema_view(
    list=extend_schema(
        description="Deployments, newest first. Filters: `environment` (slugs), `release` "
        "(id), `outcome` (repeat for several), `in_progress`."
    ),
)
class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """What was deployed where, how (strategy and steps reached), by whom and with what outcome;
    rollbacks are deployments linked to the one they undo (`rollback_of`, `rollbacks`)."""

    serializer_class = d.DeploymentSerializer
    filter_backends = FILTERS
    filterset_class = DeploymentFilter
    ordering_fields = ["deployed_at", "finished_at"]
    ordering = ["-deployed_at", "-id"]
    lookup_value_regex = ID

    def get_queryset(self):
        return selectors.deployments(self.request.user)

    def _answer(self, deployment: Deployment, *, created: bool = False) -> Response:
        # Read again as the list shows it: the reader's view of the release, the rollbacks.
        shown = reread(self.get_queryset(), deployment.pk)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.get_serializer(shown).data, status=code)

    @extend_schema(
        request=d.DeploymentInputSerializer,
        responses={201: d.DeploymentSerializer, **ANSWER, **ERRORS, **CONFLICT},
        examples=[
            ex.DEPLOYMENT_START,
            ex.DEPLOYMENT,
            ex.DEPLOYMENT_OVER,
            ex.DEPLOYMENT_STARTED,
            ex.DEPLOYMENT_RUNNING,
        ],
    )
    def create(self, request: Request) -> Response:
        """Start a deployment, or report one that is over.

        `"outcome": "in_progress"` starts one: 409 naming the running one while another
        deployment of the environment is in progress. Without `outcome` (or `succeeded`,
        `failed`) the deployment is over: it started at `deployed_at` and finished at
        `finished_at` (default now), and a success becomes what runs on the environment.

        In production (environment kind `prod`) the release follows, unless `move_release` is
        false: an approved release moves to deploying at the start (the readiness verdict must
        be GO) and to released when the deployment succeeds; that needs a user allowed to move
        it (release managers, the release's manager). Sending the same `client_id` again
        answers 200 with the deployment stored the first time.
        """
        data = d.DeploymentInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        outcome = fields.pop("outcome")
        if outcome == DeploymentOutcome.IN_PROGRESS:
            deployment = call_service(services.deployment_start, actor=request.user, **fields)
        else:
            deployment = call_service(
                services.deployment_record, actor=request.user, outcome=outcome, **fields
            )
        return self._answer(deployment, created=not deployment.replayed)

    @extend_schema(
        request=d.StepInputSerializer,
        responses={**ANSWER, **WRITE_ERRORS, **CONFLICT},
        examples=[ex.DEPLOYMENT_STEP, ex.DEPLOYMENT_STEPPED, ex.DEPLOYMENT_OVER_ALREADY],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def steps(self, request: Request, pk: str | None = None) -> Response:
        """Report a step the rollout reached (`percent`, going up), timed now. Only while it
        is in progress: 409 once it is over."""
        deployment = self.get_object()
        data = d.StepInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = call_service(
            services.deployment_step,
            actor=request.user,
            deployment=deployment,
            percent=data.validated_data["percent"],
        )
        return self._answer(deployment)

    @extend_schema(
        request=d.FinishInputSerializer,
        responses={**ANSWER, **WRITE_ERRORS, **CONFLICT},
        examples=[ex.DEPLOYMENT_FINISH, ex.DEPLOYMENT_FINISHED, ex.DEPLOYMENT_OVER_ALREADY],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def finish(self, request: Request, pk: str | None = None) -> Response:
        """Finish a running deployment: `succeeded` (it becomes what runs on the environment;
        in production the release moves to released, a rollback moves it to rolled back; a
        rollback elsewhere is a rehearsal of the release's rollback) or `failed`."""
        deployment = self.get_object()
        data = d.FinishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = call_service(
            services.deployment_finish,
            actor=request.user,
            deployment=deployment,
            **data.validated_data,
        )
        return self._answer(deployment)

    @extend_schema(
        request=d.RollbackInputSerializer,
        responses={201: d.DeploymentSerializer, **ANSWER, **WRITE_ERRORS, **CONFLICT},
        examples=[ex.DEPLOYMENT_ROLLBACK, ex.DEPLOYMENT_STARTED, ex.DEPLOYMENT_ROLLED_BACK_ALREADY],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        """Start the rollback of a finished deployment: a deployment in the same environment of
        the version that ran there before (or `version`), linked to it. Report its steps and
        finish it like any deployment; when it succeeds this one becomes `rolled_back`."""
        deployment = self.get_object()
        data = d.RollbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rollback = call_service(
            services.deployment_rollback,
            actor=request.user,
            deployment=deployment,
            **data.validated_data,
        )
        return self._answer(rollback, created=not rollback.replayed)
