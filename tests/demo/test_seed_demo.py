"""``manage.py seed_demo``: the demo data, idempotent, refused outside DEBUG."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from environments.models import Booking, Deployment, Environment
from releases import services
from releases.models import (
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseTransition,
    ScopeItem,
    Team,
)

DEMO_USERS = ["admin", "manager", "product", "legal", "security", "alice", "bob", "cab", "sre"]


@pytest.fixture
def debug(db, settings):
    settings.DEBUG = True
    # The demo password is hashed seven times per run; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Counts and the fields that matter of everything seed_demo writes."""
    return {
        "users": list(
            User.objects.order_by("username").values_list(
                "username", "first_name", "last_name", "is_staff", "is_superuser", "password"
            )
        ),
        "groups": list(User.groups.through.objects.values_list("user__username", "group__name")),
        "teams": list(Team.objects.values_list("slug", "name", "color", "contact", "updated_at")),
        "members": list(Team.members.through.objects.values_list("team__slug", "user__username")),
        "environments": list(Environment.objects.values_list("slug", "kind", "updated_at")),
        "freezes": list(FreezeWindow.objects.values_list("name", "start", "end", "team_id")),
        "releases": list(
            Release.objects.values_list(
                "team__slug", "version", "name", "state", "go_live", "window_end", "updated_at"
            )
        ),
        "milestones": list(Milestone.objects.values_list("release_id", "kind", "date", "at")),
        "scope": list(ScopeItem.objects.values_list("release_id", "ticket_key", "ticket_url")),
        "dependencies": list(
            ReleaseDependency.objects.values_list("release_id", "depends_on_id", "kind")
        ),
        "transitions": list(ReleaseTransition.objects.values_list("release_id", "to_state")),
        "bookings": list(
            Booking.objects.values_list("environment__slug", "team__slug", "start", "end", "state")
        ),
        "deployments": list(Deployment.objects.values_list("environment__slug", "version")),
    }


def test_it_creates_the_demo_teams_users_and_environments(debug):
    output = seed()
    assert set(Team.objects.values_list("name", flat=True)) == {"Payments", "Search", "Mobile"}
    assert all(team.contact and team.color.startswith("#") for team in Team.objects.all())
    users = {user.username: user for user in User.objects.all()}
    assert set(users) == set(DEMO_USERS)
    assert users["admin"].is_superuser
    assert users["manager"].groups.get().name == "Release managers"
    assert users["manager"].is_staff and users["product"].is_staff
    assert users["legal"].groups.get().name == "Legal approvers"
    assert users["alice"].teams.get().name == "Payments"
    assert users["bob"].teams.get().name == "Search"
    assert all(user.first_name and user.last_name for user in users.values())
    kinds = dict(Environment.objects.values_list("slug", "kind"))
    assert kinds == {"dev": "dev", "qa": "test", "staging": "staging", "prod": "prod"}
    assert "relcal-demo" in output and "manager" in output


def test_it_plans_a_dozen_releases_in_every_state_by_the_rules(debug):
    seed()
    now = timezone.now()
    releases = list(Release.objects.prefetch_related("milestones", "scope_items", "transitions"))
    assert len(releases) >= 12
    assert {release.state for release in releases} >= {
        "draft", "planned", "scope_frozen", "testing", "approved", "released", "cancelled",
        "rolled_back",
    }  # fmt: skip
    for release in releases:
        if release.version == "cd":
            continue  # a team's continuous-delivery stream (tests/demo/test_delivery_demo.py)
        # Every state was reached by recorded transitions, not written directly.
        assert release.transitions.last().to_state == release.state, release
        milestones = list(release.milestones.all())
        assert {m.kind for m in milestones} >= {"scope_freeze", "code_freeze", "go_no_go"}
        assert any(m.all_day for m in milestones) and any(not m.all_day for m in milestones)
        assert all(m.sort_key <= release.go_live for m in milestones), release
        assert all(item.ticket_key and item.ticket_url for item in release.scope_items.all())
        assert not services.freeze_windows_hit(release.team, *release.window), release
        if release.state == "released":
            assert now - timedelta(days=31) < release.go_live < now
        elif release.state not in ("rolled_back",):
            assert now < release.go_live < now + timedelta(days=100), release
    kinds = set(ReleaseDependency.objects.values_list("kind", flat=True))
    assert kinds == {"needs", "together"}
    assert ReleaseDependency.objects.filter(
        release__name="Payments 4.2", kind="needs", depends_on__name="Search 2.1"
    ).exists()
    # The release manager's journey creates Payments 4.3 herself.
    assert not Release.objects.filter(name="Payments 4.3").exists()


def test_it_sets_a_year_end_freeze_for_everyone_and_one_for_a_team(debug):
    seed()
    year_end = FreezeWindow.objects.get(name__startswith="Year-end freeze", team=None)
    start, end = timezone.localtime(year_end.start), timezone.localtime(year_end.end)
    assert (start.month, start.day, end.month, end.day) == (12, 20, 1, 4)
    assert end > timezone.now()
    assert FreezeWindow.objects.filter(team__slug="payments").exists()


def test_staging_is_taken_on_tuesday_afternoon_by_search(debug):
    seed()
    search = Booking.objects.get(environment__slug="staging", team__slug="search")
    start = timezone.localtime(search.start)
    assert (start.weekday(), start.hour) == (1, 14)
    assert search.start > timezone.now()
    assert search.state == "confirmed"
    # Payments 4.1 went to production (what runs there now is the latest delivery demo build).
    assert Deployment.objects.get(environment__slug="prod", version="4.1").outcome == "succeeded"


def test_qa_shows_a_canary_step_by_step_and_a_rehearsed_rollback(debug):
    seed()
    canary = Deployment.objects.get(environment__slug="qa", strategy="canary")
    assert [step["percent"] for step in canary.steps] == [10, 50, 100]
    assert canary.outcome == "rolled_back"
    rehearsal = canary.rollbacks.get()
    assert (rehearsal.version, rehearsal.outcome) == ("4.1", "succeeded")
    assert canary.release.rollback_rehearsed_on == timezone.localdate()


def test_running_it_twice_leaves_the_same_data(debug):
    seed()
    first = snapshot()
    output = seed()
    assert snapshot() == first
    assert "0 releases created this run" in output


def test_it_refuses_to_run_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="relcal-demo"):
        seed()
    assert not User.objects.exists()
    assert not Release.objects.exists()


def test_demo_users_log_in_with_the_demo_password(debug, client):
    seed()
    for username in DEMO_USERS:
        assert client.login(username=username, password="relcal-demo"), username
        client.logout()
    client.login(username="manager", password="relcal-demo")
    assert client.get("/admin/releases/release/").status_code == 200


def test_it_keeps_the_password_of_a_user_who_existed(debug):
    User.objects.create_user("alice", password="her-own-secret")
    seed()
    assert User.objects.get(username="alice").check_password("her-own-secret")
    assert User.objects.get(username="alice").teams.get().slug == "payments"
