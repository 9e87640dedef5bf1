"""Fixtures for the environments tests: a staging environment owned by Search, qa and prod, a
booking factory that books through the service as Alice (Payments) unless told otherwise, and
``release_in(state)`` for deployments that move releases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from environments import services
from environments.models import Booking, Environment
from releases import services as release_services
from tests.approvals.helpers import approve

HOUR = timedelta(hours=1)


@pytest.fixture
def staging(search) -> Environment:
    return Environment.objects.create(
        name="staging", slug="staging", kind="staging", owner_team=search
    )


@pytest.fixture
def qa(db) -> Environment:
    return Environment.objects.create(name="qa", slug="qa", kind="test")


@pytest.fixture
def prod(db) -> Environment:
    return Environment.objects.create(name="prod", slug="prod", kind="prod")


LIFECYCLE = ["planned", "scope_frozen", "testing", "approved", "deploying", "released"]


@pytest.fixture
def release_in(make_release, manager):
    """``release_in(state, **fields)``: a Payments release the manager walked to ``state``
    (signed off on the way to approved, so that it is GO)."""

    def make(state: str = "draft", **fields):
        release = make_release(**fields)
        for step in LIFECYCLE[: LIFECYCLE.index(state) + 1] if state != "draft" else []:
            if step == "approved":
                approve(release)
            release_services.release_transition(
                actor=manager, release=release, to_state=step, reason="test"
            )
        release.refresh_from_db()
        return release

    return make


@pytest.fixture
def book(alice, payments, staging, soon):
    """``book(start_hours, end_hours, **fields)``: a booking of ``[soon + start, soon + end)``."""

    def make(start: float = 0, end: float = 1, **fields) -> Booking:
        fields.setdefault("actor", alice)
        fields.setdefault("team", payments)
        fields.setdefault("environment", staging)
        fields.setdefault("purpose", "QA run")
        return services.booking_create(start=soon + start * HOUR, end=soon + end * HOUR, **fields)

    return make


def set_rules(environment: Environment, **rules) -> Environment:
    Environment.objects.filter(pk=environment.pk).update(**rules)
    environment.refresh_from_db()
    return environment
