"""Fixtures for the environments API tests, on top of tests/conftest.py (personas) and
tests/environments/conftest.py (staging owned by Search, qa, the ``book`` factory)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from environments.models import Booking, Deployment, Environment, MaintenanceWindow, WaitlistEntry

DOMAIN = (Environment, Booking, WaitlistEntry, MaintenanceWindow, Deployment)


@pytest.fixture
def stored(db):
    """``stored()`` snapshots every environments table, to assert that a refused request wrote
    nothing."""

    def snapshot() -> dict:
        counts = {model.__name__: model.objects.count() for model in DOMAIN}
        counts["bookings"] = list(Booking.objects.values_list("pk", "state", "start", "end"))
        counts["environments"] = list(
            Environment.objects.values_list(
                "pk", "max_booking_minutes", "min_notice_minutes", "current_deployment"
            )
        )
        return counts

    return snapshot


def iso(moment) -> str:
    return moment.isoformat()


@pytest.fixture
def as_user(db):
    """``as_user(user)``: a fresh API client signed in as ``user`` (``api.as_user`` would
    re-sign the one shared client, so two personas in one test need this)."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
