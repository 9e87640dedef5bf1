"""Environments, availability, deployments, maintenance windows and the waitlist through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from environments import services
from environments.models import Deployment, Environment, MaintenanceWindow, WaitlistEntry

from ..conftest import HOUR
from .conftest import iso


@pytest.fixture
def release(make_release):
    return make_release(name="Payments 4.3", version="4.3.0")


def test_environments_list_with_their_rules_and_current_deployment(
    as_user, alice, staging, qa, release
):
    services.deployment_report(actor=alice, environment=staging, version="", release=release)
    response = as_user(alice).get("/api/v1/environments/")
    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.data["results"]}
    assert set(rows) == {"qa", "staging"}
    assert rows["qa"]["current_deployment"] is None
    staging_row = rows["staging"]
    assert staging_row["owner_team"] == {"slug": "search", "name": "Search", "color": "#2b8a3e"}
    assert staging_row["kind_label"] == "Staging"
    assert staging_row["max_booking_minutes"] is None
    deployed = staging_row["current_deployment"]
    assert deployed["version"] == "4.3.0"
    assert deployed["release"] == release.pk
    assert deployed["release_name"] == "Payments 4.3"
    assert deployed["deployed_by"] == "alice"


def test_an_environment_is_read_by_slug_and_an_unknown_one_is_404(as_user, alice, staging):
    client = as_user(alice)
    assert client.get("/api/v1/environments/staging/").data["name"] == "staging"
    assert client.get("/api/v1/environments/nope/").status_code == 404
    assert client.get("/api/v1/environments/nope/availability/").status_code == 404
    response = client.post(
        "/api/v1/environments/nope/acquire/", {"team": "payments", "minutes": 5, "purpose": "x"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("persona", ["bob", "manager"])
def test_owners_and_release_managers_change_the_rules(as_user, staging, persona, request):
    user = request.getfixturevalue(persona)
    response = as_user(user).patch(
        "/api/v1/environments/staging/",
        {"max_booking_minutes": 240, "min_notice_minutes": 60, "name": "ignored"},
        format="json",
    )
    assert response.status_code == 200, response.data
    assert response.data["max_booking_minutes"] == 240
    staging.refresh_from_db()
    assert (staging.max_booking_minutes, staging.min_notice_minutes, staging.name) == (
        240,
        60,
        "staging",
    )


def test_others_may_not_change_the_rules_and_bad_values_name_the_field(
    as_user, alice, bob, staging, stored
):
    before = stored()
    refused = as_user(alice).patch(
        "/api/v1/environments/staging/", {"max_booking_minutes": 240}, format="json"
    )
    assert refused.status_code == 403
    assert "owners of staging" in refused.data["detail"]
    bad = as_user(bob).patch(
        "/api/v1/environments/staging/", {"max_booking_minutes": 0}, format="json"
    )
    assert bad.status_code == 400
    assert "max_booking_minutes" in bad.data
    assert stored() == before
    assert as_user(bob).put("/api/v1/environments/staging/", {}).status_code == 405


# --- Availability -----------------------------------------------------------------------------


def test_availability_lists_busy_intervals_with_who_and_why_and_the_free_gaps(
    as_user, alice, bob, search, book, staging, soon
):
    book(1, 2, purpose="Regression")
    book(4, 5, actor=bob, team=search, purpose="Load test")
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 6 * HOUR, end=soon + 7 * HOUR, reason="DB"
    )
    response = as_user(alice).get(
        "/api/v1/environments/staging/availability/",
        {"start": iso(soon), "end": iso(soon + 8 * HOUR)},
    )
    assert response.status_code == 200, response.data
    busy = [
        (row["kind"], row["who"], row["why"], row["team"], row["booked_by"])
        for row in response.data["busy"]
    ]
    assert busy == [
        ("booking", "Payments", "Regression", "payments", "alice"),
        ("booking", "Search", "Load test", "search", "bob"),
        ("maintenance", "Maintenance", "DB", None, None),
    ]
    free = [
        (parse_datetime(row["start"]), parse_datetime(row["end"])) for row in response.data["free"]
    ]
    hours = [((a - soon) / HOUR, (b - soon) / HOUR) for a, b in free]
    assert hours == [(0, 1), (2, 4), (5, 6), (7, 8)]


def test_availability_defaults_to_the_next_seven_days(as_user, alice, staging):
    response = as_user(alice).get("/api/v1/environments/staging/availability/")
    assert response.status_code == 200
    start, end = parse_datetime(response.data["start"]), parse_datetime(response.data["end"])
    assert abs(start - timezone.now()) < timedelta(seconds=5)
    assert end - start == timedelta(days=7)
    assert response.data["busy"] == []
    assert len(response.data["free"]) == 1


def test_availability_reads_an_offset_whose_plus_arrived_as_a_space(as_user, alice, staging, soon):
    # "?start=2027-03-02T10:00:00+01:00" typed into a shell arrives with a space for the "+".
    start = timezone.localtime(soon, timezone.get_fixed_timezone(60))
    response = as_user(alice).get(
        f"/api/v1/environments/staging/availability/?start={start.isoformat()}"
    )
    assert response.status_code == 200, response.data
    assert parse_datetime(response.data["start"]) == soon


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"end": "past"}, "wrong format"),
        ({"days": "x", "start": "2027-03-02T10:00:00"}, "UTC offset"),
        ({"start": "2027-03-02T10:00:00Z", "end": "2027-03-02T09:00:00Z"}, "must end after"),
        ({"start": "2027-03-01T00:00:00Z", "end": "2027-05-03T00:00:01Z"}, "at most 62 days"),
    ],
)
def test_availability_refuses_a_bad_range_naming_the_field(
    as_user, alice, staging, params, fragment
):
    response = as_user(alice).get("/api/v1/environments/staging/availability/", params)
    assert response.status_code == 400
    messages = " ".join(str(m) for field in ("start", "end") for m in response.data.get(field, []))
    assert fragment in messages, response.data


# --- Deployments --------------------------------------------------------------------------------


def test_ci_reports_a_deployment_and_the_environment_shows_it(as_user, alice, staging, qa, release):
    client = as_user(alice)
    response = client.post(
        "/api/v1/deployments/",
        {"environment": "staging", "version": "4.3.0-rc.2", "release": release.pk, "note": "#88"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["deployed_by"] == "alice"
    assert response.data["release_name"] == "Payments 4.3"
    client.post("/api/v1/deployments/", {"environment": "qa", "version": "9"}, format="json")
    client.post("/api/v1/deployments/", {"environment": "staging", "version": "4.3.0"})

    current = client.get("/api/v1/environments/staging/").data["current_deployment"]
    assert current["version"] == "4.3.0"
    history = client.get("/api/v1/deployments/", {"environment": "staging"}).data["results"]
    assert [row["version"] for row in history] == ["4.3.0", "4.3.0-rc.2"]


def test_a_deployment_without_a_version_takes_the_release_s(as_user, alice, staging, release):
    response = as_user(alice).post(
        "/api/v1/deployments/", {"environment": "staging", "release": release.pk}, format="json"
    )
    assert response.status_code == 201, response.data
    assert response.data["version"] == "4.3.0"


def test_a_deployment_with_neither_version_nor_release_is_refused(as_user, alice, staging, stored):
    before = stored()
    response = as_user(alice).post("/api/v1/deployments/", {"environment": "staging"})
    assert response.status_code == 400
    assert "version" in response.data
    assert stored() == before


# --- Maintenance ----------------------------------------------------------------------------------


def test_owners_schedule_and_remove_maintenance(as_user, bob, alice, staging, soon):
    client = as_user(bob)
    response = client.post(
        "/api/v1/maintenance-windows/",
        {"environment": "staging", "start": iso(soon), "end": iso(soon + HOUR), "reason": "DB"},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["created_by"] == "bob"
    listed = as_user(alice).get("/api/v1/maintenance-windows/", {"environment": "staging"})
    assert [row["reason"] for row in listed.data["results"]] == ["DB"]
    assert client.delete(f"/api/v1/maintenance-windows/{response.data['id']}/").status_code == 204
    assert not MaintenanceWindow.objects.exists()


def test_maintenance_over_a_booking_is_refused(as_user, bob, book, staging, soon, stored):
    book(0, 1)
    before = stored()
    response = as_user(bob).post(
        "/api/v1/maintenance-windows/",
        {"environment": "staging", "start": iso(soon), "end": iso(soon + HOUR), "reason": "DB"},
        format="json",
    )
    assert response.status_code == 400
    assert "booked by Payments" in response.data["start"][0]
    assert stored() == before


# --- Waitlist -------------------------------------------------------------------------------------


def test_a_team_queues_for_a_taken_slot_and_gets_it_when_it_frees(
    as_user, alice, bob, search, book, soon
):
    held = book(0, 2, actor=bob, team=search, purpose="Load test")
    client = as_user(alice)
    body = {
        "environment": "staging",
        "team": "payments",
        "purpose": "Regression",
        "start": iso(soon),
        "end": iso(soon + 2 * HOUR),
    }
    joined = client.post("/api/v1/waitlist/", body, format="json")
    assert joined.status_code == 201, joined.data
    assert joined.data["state"] == "waiting"
    assert client.post("/api/v1/waitlist/", body, format="json").status_code == 400  # twice

    mine = client.get("/api/v1/waitlist/", {"mine": "true"}).data["results"]
    assert [row["id"] for row in mine] == [joined.data["id"]]
    assert as_user(bob).get("/api/v1/waitlist/", {"mine": "true"}).data["results"] == []

    as_user(bob).post(f"/api/v1/bookings/{held.pk}/cancel/")
    entry = client.get(f"/api/v1/waitlist/{joined.data['id']}/").data
    assert entry["state"] == "granted"
    granted = client.get(f"/api/v1/bookings/{entry['granted_booking']}/").data
    assert (granted["team"], granted["purpose"]) == ("payments", "Regression")


def test_a_waiting_team_withdraws(as_user, alice, bob, search, book, staging, soon):
    book(0, 2, actor=bob, team=search)
    entry = services.waitlist_join(
        actor=alice, environment=staging, team=alice.teams.get(), start=soon,
        end=soon + HOUR, purpose="x",
    )  # fmt: skip
    response = as_user(alice).post(f"/api/v1/waitlist/{entry.pk}/withdraw/")
    assert response.status_code == 200
    assert response.data["state"] == "withdrawn"
    again = as_user(alice).post(f"/api/v1/waitlist/{entry.pk}/withdraw/")
    assert again.status_code == 409
    assert again.data["state"] == "withdrawn"
    assert WaitlistEntry.objects.get().state == "withdrawn"


def test_joining_the_waitlist_for_a_free_slot_says_to_book_it(as_user, alice, staging, soon):
    response = as_user(alice).post(
        "/api/v1/waitlist/",
        {
            "environment": "staging",
            "team": "payments",
            "purpose": "x",
            "start": iso(soon),
            "end": iso(soon + HOUR),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "book it instead" in response.data["start"][0]
    assert not WaitlistEntry.objects.exists()
    assert Environment.objects.count() == 1
    assert not Deployment.objects.exists()
