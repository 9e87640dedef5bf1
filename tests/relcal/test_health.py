"""/healthz tells operators and load balancers whether database and broker answer."""

from __future__ import annotations

import pytest
from django.test import override_settings

from relcal.celery import app as celery_app


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
