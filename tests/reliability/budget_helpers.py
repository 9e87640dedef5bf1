"""Helpers of the error-budget policy tests: store an SLO's figures as an evaluation would and
tell the receivers, the SRE persona, a production environment and a deployment through the
environments services."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from environments import services as environment_services
from environments.models import Deployment, Environment
from reliability.models import SLO
from reliability.signals import slo_evaluated
from tests.conftest import PASSWORD

PAGE_BURN = {"5m": 21.0, "30m": 20.5, "1h": 20.1, "6h": 4.2, "24h": 1.1, "3d": 0.6}
CALM = {"5m": 0.4, "30m": 0.5, "1h": 0.5, "6h": 0.6, "24h": 0.7, "3d": 0.8}


def evaluated(
    slo: SLO,
    state: str,
    budget: float | None = None,
    *,
    alert: str = "",
    burn_rates: dict | None = None,
    now: datetime | None = None,
) -> SLO:
    """Store ``state`` and figures on ``slo`` and send ``slo_evaluated``, inside one
    transaction, as ``reliability.evaluation`` does."""
    now = now or timezone.now()
    previous = SLO.objects.get(pk=slo.pk)
    with transaction.atomic():
        SLO.objects.filter(pk=slo.pk).update(
            state=state,
            budget_remaining=budget,
            sli=None if budget is None else 1 - (1 - budget) * 0.001,  # objective 99.9 %
            alert=alert,
            burn_rates=burn_rates if burn_rates is not None else CALM,
            evaluated_at=now,
            state_since=now if previous.state != state else previous.state_since or now,
        )
        stored = SLO.objects.select_related("service__team").get(pk=slo.pk)
        slo_evaluated.send(sender=SLO, slo=stored, previous_state=previous.state, now=now)
    return stored


def make_sre(username: str = "sasha") -> User:
    user = User.objects.create_user(
        username, f"{username}@example.com", PASSWORD, first_name="Sasha", last_name="Reyes"
    )
    user.groups.add(Group.objects.get(name="SRE"))
    return user


def prod_environment() -> Environment:
    return Environment.objects.get_or_create(
        slug="prod", defaults={"name": "prod", "kind": "prod"}
    )[0]


def deploy(actor, release, environment: Environment, *, outcome: str = "succeeded", **fields):
    """A deployment of ``release`` reported once it is over (started and finished now),
    through the environments services, leaving the release's state alone."""
    fields.setdefault("move_release", False)
    return environment_services.deployment_record(
        actor=actor, environment=environment, release=release, outcome=outcome, **fields
    )


def rollback(actor, deployment: Deployment):
    """A rollback of ``deployment`` that succeeded, reported once it is over."""
    return environment_services.deployment_record(
        actor=actor,
        environment=deployment.environment,
        release=deployment.release,
        rollback_of=deployment,
        move_release=False,
    )
