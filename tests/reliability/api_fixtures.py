"""Fixtures of the services, SLOs, measurements and pages tests: the SRE persona, a private
team with its member and service, API clients per persona, and a snapshot of every reliability
table to prove that a refused request stored nothing.

Import the fixtures a module uses: ``from .api_fixtures import sre, ...  # noqa: F401``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from approvals.models import AuditEvent
from releases.models import Team
from reliability import services
from reliability.models import SLO, Measurement, Service, SLISource, SLOSnapshot
from tests.conftest import PASSWORD

from .budget_helpers import make_sre

TABLES = (Service, SLO, Measurement, SLOSnapshot)


@pytest.fixture
def sre(db) -> User:
    return make_sre()


@pytest.fixture
def secret(db) -> Team:
    """A private team: only its members, release managers, auditors and SRE see its services."""
    return Team.objects.create(name="Vault", slug="vault", color="#5f3dc4", is_private=True)


@pytest.fixture
def maya(secret) -> User:
    user = User.objects.create_user("maya", "maya@example.com", PASSWORD, first_name="Maya")
    secret.members.add(user)
    return user


@pytest.fixture
def hidden(secret, manager) -> Service:
    """The private team's service."""
    return services.service_create(actor=manager, team=secret, name="Vault API", slug="vault-api")


@pytest.fixture
def payments_api(payments, manager) -> Service:
    return services.service_create(
        actor=manager, team=payments, name="Payments API", slug="payments-api"
    )


@pytest.fixture
def pushed_slo(payments_api, manager) -> SLO:
    return services.slo_create(
        actor=manager,
        service=payments_api,
        name="availability",
        objective=Decimal("99.9"),
        source=SLISource.PUSHED,
    )


@pytest.fixture
def as_user(db):
    """``as_user(user)``: a fresh API client signed in as ``user`` (two personas in one test
    need two clients)."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def stored(db):
    """``stored()``: every reliability table's rows and the audit trail's length."""

    def snapshot() -> dict:
        counts = {model.__name__: list(model.objects.values()) for model in TABLES}
        counts["links"] = list(Service.releases.through.objects.values_list())
        counts["audit"] = AuditEvent.objects.count()
        return counts

    return snapshot


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()


HOUR = timedelta(hours=1)
