"""/healthz tells operators and load balancers whether database and broker answer."""

from __future__ import annotations

import threading

import pytest
from django.test import override_settings

from relcal import views
from relcal.celery import app as celery_app


@pytest.fixture(autouse=True)
def settled_checks():
    """Each test starts without a broker check still running from the one before."""
    yield
    if views._running is not None:
        views._running.result(timeout=15)
    views._running = None


@pytest.mark.django_db
def test_it_reports_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_is_down(client, monkeypatch):
    # Nothing listens on port 1 of this machine: the broker is "down".
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False
    assert body["database"]["ok"] is True


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["relcal.example.com"])
def test_it_needs_no_login(client):
    response = client.get("/healthz", HTTP_HOST="relcal.example.com")
    assert response.status_code == 200


def test_the_favicon_is_served_for_browsers_that_ask_for_it(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("relcal/favicon.svg")


def test_a_broker_that_hangs_is_reported_down_without_waiting_for_it(client, monkeypatch):
    release = threading.Event()

    def hang():
        release.wait(10)  # a broker that accepts the connection and never answers
        return True, "too late"

    monkeypatch.setattr(views, "_broker_ok", hang)
    monkeypatch.setattr(views, "_running", None)
    try:
        response = client.get("/healthz")
    finally:
        release.set()
    assert response.status_code == 503
    assert response.json()["broker"] == {"ok": False, "detail": "no answer within 0.8 s"}
