"""Fixtures for the environments tests: a staging environment owned by Search, and a booking
factory that books through the service as Alice (Payments) unless told otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from environments import services
from environments.models import Booking, Environment

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
