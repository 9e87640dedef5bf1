"""Fixtures for the delivery tests: a production and a staging environment, services of
Payments and Search, a private team (Ledger, with its own service), and factories that record
deployments, rollbacks, hotfixes and incidents at given times.

``deploy(release, finished, lead=hours)`` records a production deployment through
``environments.services.deployment_record`` (as the release manager, ``move_release=False`` so
that releases in any state can be deployed), with a build whose first commit was ``lead`` hours
before the finish (no build without ``lead``): the ``deployment_finished`` signal records the
production change, as in production.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from approvals.readiness.services import candidate_report
from delivery import changes
from delivery.models import Incident
from environments import services as deployments
from environments.models import Deployment, Environment
from releases.models import Team
from reliability.models import Service

_builds = itertools.count(1)


def at(month: int, day: int, hour: int = 10, minute: int = 0, *, year: int = 2026) -> datetime:
    """A moment in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def prod(db) -> Environment:
    return Environment.objects.create(name="prod", slug="prod", kind="prod")


@pytest.fixture
def staging(db) -> Environment:
    return Environment.objects.create(name="staging", slug="staging", kind="staging")


@pytest.fixture
def checkout(payments) -> Service:
    return Service.objects.create(team=payments, name="Checkout", slug="checkout")


@pytest.fixture
def billing(payments) -> Service:
    return Service.objects.create(team=payments, name="Billing", slug="billing")


@pytest.fixture
def search_api(search) -> Service:
    return Service.objects.create(team=search, name="Search API", slug="search-api")


@pytest.fixture
def ledger(db) -> Team:
    """A private team (its service: ``ledger_core``)."""
    return Team.objects.create(name="Ledger", slug="ledger", color="#5f3dc4", is_private=True)


@pytest.fixture
def ledger_core(ledger) -> Service:
    return Service.objects.create(team=ledger, name="Ledger core", slug="ledger-core")


@pytest.fixture
def sre(django_user_model):
    user = django_user_model.objects.create_user("sre", "sre@example.com", "x")
    user.groups.add(Group.objects.get(name="SRE"))
    return user


@pytest.fixture
def deploy(manager, prod):
    """``deploy(release, finished, lead=None, environment=prod, outcome="succeeded")``."""

    def make(
        release=None,
        finished: datetime | None = None,
        *,
        lead: float | None = None,
        environment: Environment | None = None,
        outcome: str = "succeeded",
        hotfix: bool = False,
    ) -> Deployment:
        number = next(_builds)
        candidate = None
        if lead is not None:
            first_commit = finished - timedelta(hours=lead)
            candidate = candidate_report(
                actor=manager,
                release=release,
                version=f"build-{number}",
                commit_sha=f"{number:040x}",
                artifact_digest="sha256:" + f"{number:064x}",
                first_commit_at=first_commit,
                last_commit_at=first_commit,
            )
        return deployments.deployment_record(
            actor=manager,
            environment=environment or prod,
            release=release,
            candidate=candidate,
            version="" if release or candidate else f"v{number}",
            outcome=outcome,
            deployed_at=finished - timedelta(minutes=10),
            finished_at=finished,
            move_release=False,
            hotfix=hotfix,
        )

    return make


@pytest.fixture
def roll_back(manager):
    """``roll_back(deployment, finished, outcome="succeeded")``: a rollback recorded later."""

    def make(deployment: Deployment, finished: datetime, outcome: str = "succeeded"):
        return deployments.deployment_record(
            actor=manager,
            environment=deployment.environment,
            rollback_of=deployment,
            version=f"before-{deployment.pk}",
            outcome=outcome,
            deployed_at=finished - timedelta(minutes=5),
            finished_at=finished,
            move_release=False,
        )

    return make


@pytest.fixture
def deploy_hotfix(deploy):
    """A production deployment the pipeline reports as a hotfix (``hotfix=True``)."""

    def make(release, finished: datetime, **fields) -> Deployment:
        return deploy(release, finished, hotfix=True, **fields)

    return make


@pytest.fixture
def make_incident():
    """``make_incident(services, opened, resolved=None, deployment=None, release=None)``: an
    incident stored as it is, then the failures it names recomputed (what
    ``delivery.incidents`` does)."""

    def make(services, opened, resolved=None, *, deployment=None, release=None) -> Incident:
        incident = Incident.objects.create(
            title="Checkout errors",
            opened_at=opened,
            resolved_at=resolved,
            deployment=deployment,
            release=release,
        )
        incident.services.set(services)
        changes.refresh_failures(
            deployment_ids=[deployment.pk] if deployment else [],
            release_ids=[release.pk] if release else [],
        )
        return incident

    return make
