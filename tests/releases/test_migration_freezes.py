"""Upgrading never announces a freeze that began long ago: a database holding freeze windows
from before ``releases/0005_freeze_window_created_at`` (one over, one running, one to come) is
migrated, then the reminders scan runs; only the freeze to come is announced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from releases.models import FreezeWindow
from releases.reminders import FREEZE_STARTING
from reminders import scan
from reminders.models import Delivery

BEFORE = ("releases", "0004_milestone_reminder_indexes")
TESTED = ("releases", "0005_freeze_window_created_at")
# The audit trail's table exists in the state before 0005 (its migration comes first).
AUDIT = ("approvals", "0001_approvals_and_audit")

# The migrator's tests flush the database when they end; restoring its serialized contents then
# (instead of letting the flush re-create content types and permissions) leaves the next
# transactional test the database it expects.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def upgraded(migrator):
    """Freeze windows seeded at the state before 0005 (with the audit events of their
    creation, as Relcal wrote them), then every migration applied."""
    now = timezone.now()
    old = migrator.apply_initial_migration([BEFORE, AUDIT])
    User = old.apps.get_model("auth", "User")
    Team = old.apps.get_model("releases", "Team")
    Release = old.apps.get_model("releases", "Release")
    FreezeWindow = old.apps.get_model("releases", "FreezeWindow")
    AuditEvent = old.apps.get_model("approvals", "AuditEvent")
    manager = User.objects.create(username="manny", email="manny@example.com", is_active=True)
    team = Team.objects.create(name="Payments", slug="payments")
    Release.objects.create(
        name="Payments 3.0",
        version="3.0",
        team=team,
        manager=manager,
        state="planned",
        go_live=now + timedelta(days=3),
    )
    windows = {
        "over": (now - timedelta(days=30), now - timedelta(days=20), now - timedelta(days=40)),
        "running": (now - timedelta(hours=2), now + timedelta(days=1), now - timedelta(days=5)),
        # Created long ago, starting within the reminder's notice: announced as usual.
        "coming": (now + timedelta(hours=20), now + timedelta(days=2), now - timedelta(days=3)),
        # No create event (e.g. loaded from a fixture): its start is the earliest known time.
        "unrecorded": (now - timedelta(days=10), now - timedelta(days=9), None),
    }
    for seq, (name, (start, end, created)) in enumerate(windows.items(), start=1):
        freeze = FreezeWindow.objects.create(name=name, start=start, end=end)
        if created is not None:
            AuditEvent.objects.create(
                seq=seq,
                timestamp=created,
                actor_name="manny",
                action="freeze_window.create",
                object_type="releases.freezewindow",
                object_id=str(freeze.pk),
                object_repr=name,
                prev_hash=f"{seq - 1:064x}",
                hash=f"{seq:064x}",
            )
    migrator.apply_tested_migration(TESTED)
    migrator.reset()
    return windows


def test_existing_freezes_get_the_time_of_their_creation_or_their_start(upgraded):
    for freeze in FreezeWindow.objects.all():
        start, _, created = upgraded[freeze.name]
        assert freeze.created_at == (min(created, start) if created else start)


def test_the_first_scan_after_upgrading_announces_only_the_freeze_to_come(upgraded):
    scan.collect(timezone.now())
    announced = Delivery.objects.filter(kind=FREEZE_STARTING)
    names = {FreezeWindow.objects.get(pk=d.object_id).name for d in announced}
    assert names == {"coming"}
