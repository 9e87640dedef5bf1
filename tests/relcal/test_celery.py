"""Every task is transaction-aware: sent after commit, never raising when the broker is down."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from relcal import celery as celery_module
from relcal.celery import app
from reminders import tasks


@pytest.fixture(autouse=True)
def not_eager():
    """Talk to a broker (replaced below), as the web process does."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def sent(monkeypatch):
    """What reaches the broker: (task name, args) per message."""
    messages = []
    monkeypatch.setattr(
        app,
        "send_task",
        lambda name, args=None, kwargs=None, **options: messages.append((name, args)),
    )
    return messages


def test_it_sends_at_once_outside_a_transaction(sent):
    tasks.deliver.delay(7)
    assert sent == [("relcal.deliver_reminder", (7,))]


def test_it_waits_for_the_commit(sent, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.deliver.delay(7) is None
        assert sent == []
    assert sent == [("relcal.deliver_reminder", (7,))]


def test_a_rolled_back_transaction_sends_nothing(sent, db, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        tasks.deliver.delay(7)
        raise RuntimeError("the request failed")
    assert (callbacks, sent) == ([], [])


def test_a_broker_that_is_down_is_logged_not_raised(monkeypatch, caplog):
    # A worker started by another test may have taken over logging: listen on the logger itself.
    monkeypatch.setattr(celery_module.logger, "handlers", [caplog.handler])
    monkeypatch.setattr(celery_module.logger, "disabled", False)
    monkeypatch.setattr(celery_module.logger, "level", logging.WARNING)

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(app, "send_task", refuse)
    assert tasks.deliver.delay(7) is None
    assert "Could not enqueue relcal.deliver_reminder(7,)" in caplog.text


def test_a_task_that_cannot_be_sent_for_another_reason_raises(monkeypatch):

    def bug(*args, **kwargs):
        raise TypeError("Object of type object is not JSON serializable")

    monkeypatch.setattr(app, "send_task", bug)
    with pytest.raises(TypeError):
        tasks.deliver.delay(object())
