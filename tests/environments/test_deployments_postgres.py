"""On PostgreSQL, pipelines starting deployments at the same moment: one environment runs one
deployment at a time, a retried start never duplicates, and nobody gets a 500."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from environments.models import Deployment

pytestmark = pytest.mark.postgres

THREADS = 8
URL = "/api/v1/deployments/"


def race(users, bodies) -> list[int]:
    """POST each body at once, each from its own connection; the status codes, in order."""
    barrier = threading.Barrier(len(bodies))
    codes: list[object] = [None] * len(bodies)

    def run(index: int) -> None:
        client = APIClient()
        client.force_authenticate(users[index % len(users)])
        try:
            barrier.wait()
            codes[index] = client.post(URL, bodies[index], format="json").status_code
        except Exception as exc:  # a 500 surfaces here with the test client
            codes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return codes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_concurrent_starts_on_one_environment_one_wins_the_others_get_409(alice, bob, staging):
    bodies = [
        {"environment": "staging", "version": f"1.{n}", "outcome": "in_progress"}
        for n in range(THREADS)
    ]
    codes = race([alice, bob], bodies)
    assert sorted(codes, key=str) == [201] + [409] * (THREADS - 1), codes
    assert Deployment.objects.filter(outcome="in_progress").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_start_retried_at_the_same_moment_is_stored_once(alice, staging):
    body = {
        "environment": "staging",
        "version": "1.0",
        "outcome": "in_progress",
        "client_id": "pipeline-812",
    }
    codes = race([alice], [body] * THREADS)
    assert sorted(codes, key=str) == [200] * (THREADS - 1) + [201], codes
    assert Deployment.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_concurrent_reports_with_one_client_id_in_two_environments_one_is_stored(
    alice, staging, qa
):
    bodies = [
        {"environment": ("staging", "qa")[n % 2], "version": "1.0", "client_id": "run-7"}
        for n in range(THREADS)
    ]
    codes = race([alice], bodies)
    assert 500 not in codes and all(isinstance(code, int) for code in codes), codes
    assert codes.count(201) == 1, codes
    assert Deployment.objects.count() == 1


def test_the_database_refuses_a_second_running_deployment(alice, staging):
    Deployment.objects.create(environment=staging, version="1", outcome="in_progress")
    with (
        pytest.raises(IntegrityError, match="deployment_one_running_per_environment"),
        transaction.atomic(),
    ):
        Deployment.objects.create(environment=staging, version="2", outcome="in_progress")
