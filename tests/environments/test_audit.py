"""Every committed change to environments and bookings leaves exactly one audit event per row
it changes; a refused one leaves none."""

from __future__ import annotations

import pytest
from django.apps import apps

from environments import services
from relcal.errors import Conflict

from .conftest import HOUR


def events(*actions: str) -> list:
    AuditEvent = apps.get_model("approvals", "AuditEvent")
    found = AuditEvent.objects.all()
    if actions:
        found = found.filter(action__in=actions)
    return list(found.order_by("seq"))


def test_a_booking_is_recorded_and_a_refused_one_is_not(book, alice, bob, search, soon):
    booking = book(0, 1)
    [created] = events("booking.create")
    assert (created.actor_name, created.object_id) == ("Alice", str(booking.pk))
    assert created.after["team"] == booking.team_id and created.after["state"] == "confirmed"
    with pytest.raises(Conflict):
        book(0, 1, actor=bob, team=search)
    assert len(events("booking.create")) == 1
    services.booking_extend(actor=alice, booking=booking, end=soon + 2 * HOUR)
    [extended] = events("booking.extend")
    assert list(extended.before) == ["end"] and list(extended.after) == ["end"]


def test_a_cancel_and_the_grant_it_causes_are_recorded(book, alice, bob, search, staging, soon):
    held = book(0, 1, actor=bob, team=search)
    entry = services.waitlist_join(
        actor=alice, environment=staging, team=alice.teams.get(), start=soon,
        end=soon + HOUR, purpose="next",
    )  # fmt: skip
    services.booking_cancel(actor=bob, booking=held)
    actions = [e.action for e in events()]
    assert actions[-4:] == ["waitlist.join", "booking.cancel", "booking.create", "waitlist.grant"]
    [grant] = events("waitlist.grant")
    entry.refresh_from_db()
    assert grant.after["granted_booking"] == entry.granted_booking_id
    [cancel] = events("booking.cancel")
    assert (cancel.before["state"], cancel.after["state"]) == ("confirmed", "cancelled")


def test_expiry_records_one_event_per_booking_by_the_system(book, soon):
    book(0, 1)
    book(1, 2)
    book(2, 4)
    services.booking_expire_due(now=soon + 3 * HOUR)
    expired = events("booking.expire")
    assert len(expired) == 2
    assert {e.actor_name for e in expired} == {"system"}
    assert len(events("booking.activate")) == 1


def test_maintenance_rules_and_deployments_are_recorded(bob, staging, soon):
    window = services.maintenance_window_create(
        actor=bob, environment=staging, start=soon, end=soon + HOUR, reason="patch"
    )
    services.environment_update(actor=bob, environment=staging, min_notice_minutes=15)
    services.environment_update(actor=bob, environment=staging, min_notice_minutes=15)
    services.maintenance_window_delete(actor=bob, window=window)
    services.deployment_report(actor=bob, environment=staging, version="4.3.0")
    assert [e.action for e in events()][-4:] == [
        "maintenance.create",
        "environment.update",  # once: the second update changed nothing
        "maintenance.delete",
        "deployment.report",
    ]
    [update] = events("environment.update")
    assert update.before == {"min_notice_minutes": 0} and update.after == {"min_notice_minutes": 15}
