"""Expiry (function and management command) and deployments reported by CI."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from environments import selectors, services
from environments.models import Booking, Deployment, Environment

from .conftest import HOUR


def test_bookings_past_their_end_expire_and_started_ones_become_active(book, soon):
    done = book(0, 1)
    running = book(1, 3)
    later = book(3, 4)
    assert services.booking_expire_due(now=soon + 2 * HOUR) == 1
    for booking in (done, running, later):
        booking.refresh_from_db()
    assert (done.state, done.ended_at) == ("expired", done.end)
    assert running.state == "active"
    assert later.state == "confirmed"
    assert services.booking_expire_due(now=soon + 2 * HOUR) == 0, "each expires once"


def test_the_expire_bookings_command_prints_how_many_expired(book):
    over = book(0, 1)
    book(1, 2)
    # As if an hour-long booking had ended a minute ago.
    now = timezone.now()
    Booking.objects.filter(pk=over.pk).update(start=now - 61 * HOUR / 60, end=now - HOUR / 60)
    out = StringIO()
    call_command("expire_bookings", stdout=out)
    assert out.getvalue() == "Expired 1 booking.\n"
    out = StringIO()
    call_command("expire_bookings", stdout=out)
    assert out.getvalue() == "Expired 0 bookings.\n"
    assert Booking.objects.get(pk=over.pk).state == "expired"


def test_a_deployment_report_updates_what_is_deployed(alice, bob, staging, make_release):
    release = make_release()
    first = services.deployment_report(
        actor=alice, environment=staging, version="", release=release, note="pipeline #812"
    )
    assert first.version == release.version, "the release's version when none is given"
    staging.refresh_from_db()
    assert staging.current_deployment == first
    second = services.deployment_report(actor=bob, environment=staging, version="4.3.1-rc2")
    staging.refresh_from_db()
    assert staging.current_deployment == second
    assert list(staging.deployments.all()) == [second, first], "history, newest first"


def test_a_deployment_report_needs_a_version_of_sane_length(alice, staging):
    for version in ("", "x" * 101):
        with pytest.raises(ValidationError) as error:
            services.deployment_report(actor=alice, environment=staging, version=version)
        assert "version" in error.value.message_dict
    assert not Deployment.objects.exists()
    staging.refresh_from_db()
    assert staging.current_deployment is None


@pytest.mark.parametrize("count", [5, 200])
def test_environments_with_their_deployments_list_in_one_query(
    alice, django_assert_num_queries, count
):
    for i in range(count):
        environment = Environment.objects.create(name=f"env{i}", slug=f"env{i}", kind="test")
        services.deployment_report(actor=alice, environment=environment, version=f"1.{i}")
    with django_assert_num_queries(1):
        rows = [
            (e.name, e.current_deployment.version, e.current_deployment.deployed_by.username)
            for e in selectors.environments_with_current_deployment()
        ]
    assert len(rows) == count
