"""Reminders fixtures: Celery in eager mode, a ``scan`` helper that runs the periodic scan and
its on-commit enqueues (so deliveries happen in the test), a milestone factory and approvers.

Personas on top of tests/conftest.py: ``priya`` (Product approvers), ``leo`` (Legal
approvers), ``sam`` (Security approvers), each with an email address.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from environments.models import Booking, Environment
from relcal.celery import app
from releases import roles, services
from reminders import scan as scanning
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def scan(django_capture_on_commit_callbacks):
    """``scan(now=None)``: one periodic scan, then the deliveries it enqueued (eagerly, with the
    real clock, as a worker picking them up at once would)."""

    def run(now=None) -> list[int]:
        with django_capture_on_commit_callbacks(execute=True):
            return scanning.scan(now=now)

    return run


def _user(username: str, *groups: str) -> User:
    user = User.objects.create_user(
        username, f"{username}@example.com", PASSWORD, first_name=username.title()
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def priya(db) -> User:
    return _user("priya", roles.PRODUCT_APPROVERS)


@pytest.fixture
def leo(db) -> User:
    return _user("leo", roles.LEGAL_APPROVERS)


@pytest.fixture
def sam(db) -> User:
    return _user("sam", roles.SECURITY_APPROVERS)


@pytest.fixture
def milestone(make_release, manager):
    """``milestone(in_=timedelta, **fields)``: a code freeze of a new Payments release at now +
    ``in_`` (on the minute, so due times compare exactly)."""

    def make(in_: timedelta, release=None, **fields):
        release = release or make_release()
        fields.setdefault("kind", "code_freeze")
        if "date" not in fields:
            fields.setdefault("at", (timezone.now() + in_).replace(second=0, microsecond=0))
        return services.milestone_create(actor=manager, release=release, **fields)

    return make


@pytest.fixture
def staging(search) -> Environment:
    return Environment.objects.create(name="staging", slug="staging", kind="staging")


@pytest.fixture
def booking(staging, payments, alice):
    def make(start: timedelta, end: timedelta, **fields) -> Booking:
        now = timezone.now().replace(second=0, microsecond=0)
        return Booking.objects.create(
            environment=staging,
            team=payments,
            purpose="QA run",
            start=now + start,
            end=now + end,
            booked_by=alice,
            **fields,
        )

    return make
