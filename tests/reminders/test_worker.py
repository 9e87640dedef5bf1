"""Integration: a real Celery worker (``celery.contrib.testing``) takes the scan's deliveries
from a real broker: the embedded filesystem broker everywhere, and Redis on the PostgreSQL CI
leg (``RELCAL_TEST_REDIS_URL``, default redis://127.0.0.1:6379/0)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import kombu.pools
import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from relcal.celery import app
from releases import services
from reminders import scan as scanning
from reminders.models import Delivery, DeliveryState

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
    # Producers come from kombu's process-wide pools, keyed by broker URL; a worker's shutdown
    # closes the one it used, and the next test on that broker would find it closed.
    kombu.pools.reset()
    # A worker run pins the read and write URLs to the broker of its time; unset, they follow
    # ``broker_url`` again.
    app.conf.broker_read_url = app.conf.broker_write_url = None


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
        scanning.scan()
        scanning.scan()  # a second scan, as a second beat tick would: no duplicates
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if Delivery.objects.exclude(state=DeliveryState.SENT).count() == 0:
                break
            time.sleep(0.5)
            scanning.scan()  # beat keeps ticking; a message not taken in time is handed again
    states = list(Delivery.objects.values_list("state", "attempts", "last_error"))
    assert states == [(DeliveryState.SENT, 1, "")] * 2
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "manager@example.com"]


def _due_milestones(make_release, manager, count: int) -> None:
    at = (timezone.now() + timedelta(days=3) - timedelta(minutes=1)).replace(microsecond=0)
    for _ in range(count):
        release = make_release()
        services.milestone_create(actor=manager, release=release, kind="code_freeze", at=at)


@pytest.mark.postgres
@pytest.mark.parametrize("broker", [BROKERS[1]], indirect=True)
def test_two_worker_processes_and_repeated_scans_send_each_reminder_once(
    broker, make_release, manager, alice, bob, tmp_path
):
    """Two ``celery worker`` processes on Redis and the test database, scans every 0.2 s
    handing the same rows over again and again: every reminder is sent exactly once."""
    _due_milestones(make_release, manager, 15)
    Team = make_release().team.__class__
    Team.objects.get(slug="payments").members.add(bob)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": str(app.conf.broker_url),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "--app", "relcal", "worker", "--pool", "solo"),
                *("--queues", QUEUE, "--hostname", f"race{n}-{QUEUE}@%h", "--loglevel", "WARNING"),
                *("--without-mingle", "--without-gossip", "--without-heartbeat"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with override_settings(RELCAL_REMINDER_REQUEUE_AFTER=0):
                scanning.scan()  # every scan hands every unsent row over again
            if not Delivery.objects.exclude(state=DeliveryState.SENT).exists():
                break
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    rows = list(Delivery.objects.values_list("state", "attempts"))
    assert len(rows) == 15 * 3  # alice, bob and the manager for each milestone
    assert set(rows) == {(DeliveryState.SENT, 1)}
    sent = [
        line
        for path in (tmp_path / "mail").iterdir()
        for line in path.read_text().splitlines()
        if line.startswith("To: ")
    ]
    assert len(sent) == len(rows)


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_with_the_broker_down_requests_succeed_and_reminders_go_out_once_it_is_back(
    broker, client, make_release, manager, priya, leo, sam, settings
):
    if connection.vendor != "postgresql" and "redis" in str(app.conf.broker_url):
        pytest.skip("Redis runs on the PostgreSQL leg")
    # The in-memory SQLite test database can refuse the worker thread a write while the test
    # thread scans ("table is locked"); the task then fails after its claim, and the scan
    # takes the row back after the claim timeout, as it would after a crashed worker.
    settings.RELCAL_REMINDER_CLAIM_TIMEOUT = 3
    real = (app.conf.broker_url, app.conf.broker_transport_options)
    # Nothing listens on port 1: a real connection, refused, as with Redis stopped.
    app.conf.broker_url, app.conf.broker_transport_options = "redis://127.0.0.1:1/0", {}
    reset_pool()
    release = make_release()
    services.release_transition(actor=manager, release=release, to_state="planned")
    client.force_login(manager)
    # Freezing the scope asks for sign-offs and asks the broker for a scan at once.
    response = client.post(
        f"/releases/{release.pk}/transition/", {"to_state": "scope_frozen", "reason": "go"}
    )
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.state == "scope_frozen"
    scanning.scan()  # beat ticks while the broker is down: nothing can be handed over
    assert Delivery.objects.filter(state=DeliveryState.PENDING, enqueued_at=None).count() == 3
    assert mail.outbox == []

    app.conf.broker_url, app.conf.broker_transport_options = real  # the broker is back
    reset_pool()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            scanning.scan()
            if not Delivery.objects.exclude(state=DeliveryState.SENT).exists():
                break
            time.sleep(0.5)
    assert list(Delivery.objects.values_list("state", flat=True)) == [DeliveryState.SENT] * 3
    assert sorted(m.to[0] for m in mail.outbox) == [
        "leo@example.com",
        "priya@example.com",
        "sam@example.com",
    ]
