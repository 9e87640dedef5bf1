"""On PostgreSQL, the same incident reported at the same moment (a tool retrying, PagerDuty
delivering twice): it is stored once, and nobody gets a 500."""

# The fixtures come from incident_fixtures: tests name them as arguments (F811).
# ruff: noqa: F811
from __future__ import annotations

import hashlib
import hmac
import json
import threading

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from delivery.models import Incident

from .incident_fixtures import (  # noqa: F401  (fixtures)
    PAGERDUTY_SECRET,
    pagerduty,
    payments_api,
)
from .test_webhooks import TRIGGERED

pytestmark = pytest.mark.postgres

THREADS = 8


def race(post) -> list[object]:
    """Run ``post()`` in THREADS threads at once, each on its own connection."""
    barrier = threading.Barrier(THREADS)
    codes: list[object] = [None] * THREADS

    def run(index: int) -> None:
        try:
            barrier.wait()
            codes[index] = post()
        except Exception as exc:  # a 500 surfaces here with the test client
            codes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return codes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_api_report_retried_at_the_same_moment_is_stored_once(alice, payments_api):
    body = {"title": "Checkout down", "services": ["payments-api"], "external_id": "INC-9"}

    def post():
        client = APIClient()
        client.force_authenticate(alice)
        return client.post("/api/v1/incidents/", body, format="json").status_code

    codes = race(post)
    assert sorted(codes, key=str) == [200] * (THREADS - 1) + [201], codes
    assert Incident.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_pagerduty_delivery_received_twice_at_once_is_stored_once(pagerduty, payments_api):
    body = json.dumps(TRIGGERED).encode()
    signature = "v1=" + hmac.new(PAGERDUTY_SECRET.encode(), body, hashlib.sha256).hexdigest()

    def post():
        return (
            Client()
            .post(
                "/api/v1/incident-sources/pagerduty/events/",
                body,
                content_type="application/json",
                headers={"X-PagerDuty-Signature": signature},
            )
            .status_code
        )

    codes = race(post)
    assert sorted(codes, key=str) == [200] * (THREADS - 1) + [201], codes
    assert Incident.objects.count() == 1
