"""Fixtures of the incident tests: the SRE persona, a private team (Vault) with its member and
service, a service per public team, production and staging deployments, incident sources with
known secrets, and a snapshot of every incident table to prove a refused request stored nothing.

Import the fixtures a module uses: ``from .incident_fixtures import sre, ...  # noqa: F401``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.models import AuditEvent
from delivery import sources
from delivery.models import Incident, IncidentSource, ProductionChange
from environments import services as deployments
from environments.models import Deployment, Environment
from releases.models import Team
from reliability import services as reliability_services
from reliability.models import Service
from tests.conftest import PASSWORD
from tests.reliability.budget_helpers import make_sre

PAGERDUTY_SECRET = "pd-secret-Ahx3ieque7ohdai9Sheiqu0e"
GENERIC_SECRET = "generic-secret-ooX6aiphahC3ohveiJ1a"
HOUR = timedelta(hours=1)


@pytest.fixture
def sre(db) -> User:
    return make_sre()


@pytest.fixture
def vault(db) -> Team:
    """A private team: only its members, release managers, auditors and SRE see its services."""
    return Team.objects.create(name="Vault", slug="vault", color="#5f3dc4", is_private=True)


@pytest.fixture
def maya(vault) -> User:
    user = User.objects.create_user("maya", "maya@example.com", PASSWORD, first_name="Maya")
    vault.members.add(user)
    return user


@pytest.fixture
def payments_api(payments, manager) -> Service:
    return reliability_services.service_create(
        actor=manager, team=payments, name="Payments API", slug="payments-api"
    )


@pytest.fixture
def search_api(search, manager) -> Service:
    return reliability_services.service_create(
        actor=manager, team=search, name="Search API", slug="search-api"
    )


@pytest.fixture
def vault_api(vault, manager) -> Service:
    return reliability_services.service_create(
        actor=manager, team=vault, name="Vault API", slug="vault-api"
    )


@pytest.fixture
def prod(db) -> Environment:
    return Environment.objects.create(name="prod", slug="prod", kind="prod")


@pytest.fixture
def staging(db) -> Environment:
    return Environment.objects.create(name="staging", slug="staging", kind="staging")


@pytest.fixture
def deploy(manager):
    """``deploy(release, environment, hours_ago=3)``: a deployment that succeeded, recorded by
    the manager without moving the release."""

    def make(release, environment, *, hours_ago: float = 3) -> Deployment:
        finished = timezone.now() - timedelta(hours=hours_ago)
        return deployments.deployment_record(
            actor=manager,
            environment=environment,
            release=release,
            deployed_at=finished - timedelta(minutes=10),
            finished_at=finished,
            move_release=False,
        )

    return make


@pytest.fixture
def payments_release(make_release, payments):
    return make_release(team=payments)


@pytest.fixture
def search_release(make_release, search):
    return make_release(team=search)


@pytest.fixture
def vault_release(make_release, vault):
    return make_release(team=vault)


@pytest.fixture
def payments_deployment(deploy, payments_release, prod, payments_api) -> Deployment:
    """Payments' release in production three hours ago (a production change)."""
    return deploy(payments_release, prod)


@pytest.fixture
def pagerduty(manager) -> IncidentSource:
    return sources.source_create(
        actor=manager, name="PagerDuty", kind="pagerduty", secret=PAGERDUTY_SECRET
    )


@pytest.fixture
def generic(manager) -> IncidentSource:
    return sources.source_create(
        actor=manager, name="Opsgenie bridge", slug="ops", kind="generic", secret=GENERIC_SECRET
    )


@pytest.fixture
def as_user(db):
    """``as_user(user)``: a fresh API client signed in as ``user``."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def stored(db):
    """``stored()``: the incident rows (with their services), the changes' failure flags and
    the audit trail's length."""

    def snapshot() -> dict:
        return {
            "incidents": list(Incident.objects.order_by("pk").values()),
            "links": list(Incident.services.through.objects.order_by("pk").values_list()),
            "changes": list(ProductionChange.objects.order_by("pk").values("failed", "failure")),
            "audit": AuditEvent.objects.count(),
        }

    return snapshot


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()
