"""Integration: a real Celery worker (``celery.contrib.testing``) takes the scan's deliveries
from a real broker: the embedded filesystem broker everywhere, and Redis on the PostgreSQL CI
leg (``RELCAL_TEST_REDIS_URL``, default redis://127.0.0.1:6379/0)."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection
from django.utils import timezone

from relcal import notify
from relcal.celery import app
from relcal.models import Delivery, DeliveryState
from releases import services

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
QUEUE = f"relcal-test-{uuid.uuid4().hex}"


def filesystem_broker(tmp_path) -> tuple[str, dict]:
    folder = tmp_path / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True)
    # Every folder private to the test, the exchange table ("control") too: a shared one would
    # let another test run's worker see this run's bindings.
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }
    return "filesystem://", options


def reset_pool() -> None:
    # The connection pool keeps the broker it was made for: drop it so the next use makes one
    # for the broker now configured.
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    # Celery caches its queues, router and producers (made for the old broker and queue) on
    # ``app.amqp``: a fresh one reads the configuration anew.
    app.__dict__.pop("amqp", None)


@pytest.fixture
def broker(request, tmp_path, settings):
    """Point the Celery app at a real broker for the test, and back afterwards."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    url, options = request.param(tmp_path)
    saved = (
        app.conf.broker_url,
        app.conf.broker_transport_options,
        app.conf.task_always_eager,
        app.conf.task_default_queue,
    )
    app.conf.broker_url, app.conf.broker_transport_options = url, options
    app.conf.task_always_eager = False
    # A queue of its own: a shared Redis may have other workers on the default queue.
    app.conf.task_default_queue = QUEUE
    reset_pool()
    yield
    (
        app.conf.broker_url,
        app.conf.broker_transport_options,
        app.conf.task_always_eager,
        app.conf.task_default_queue,
    ) = saved
    reset_pool()


def redis_broker(tmp_path) -> tuple[str, dict]:
    return os.environ.get("RELCAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), {}


BROKERS = [
    pytest.param(filesystem_broker, id="filesystem"),
    pytest.param(
        redis_broker,
        id="redis",
        marks=pytest.mark.postgres,  # the PostgreSQL CI leg runs Redis beside it
    ),
]


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_a_real_worker_delivers_each_reminder_once(broker, make_release, manager, alice, settings):
    settings.RELCAL_REMINDER_REQUEUE_AFTER = 5
    if connection.vendor != "postgresql" and "redis" in str(app.conf.broker_url):
        pytest.skip("Redis runs on the PostgreSQL leg")
    release = make_release()
    at = (timezone.now() + timedelta(days=3) - timedelta(minutes=1)).replace(microsecond=0)
    services.milestone_create(actor=manager, release=release, kind="code_freeze", at=at)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        notify.scan()
        notify.scan()  # a second scan, as a second beat tick would: no duplicates
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if Delivery.objects.exclude(state=DeliveryState.SENT).count() == 0:
                break
            time.sleep(0.5)
            notify.scan()  # beat keeps ticking; a message not taken in time is handed again
    states = list(Delivery.objects.values_list("state", "attempts", "last_error"))
    assert states == [(DeliveryState.SENT, 1, "")] * 2
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "manager@example.com"]
