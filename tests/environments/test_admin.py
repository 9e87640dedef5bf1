"""The admin over the environments services: pages load, writes obey the same rules."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from environments import services
from environments.admin import BookingAdmin
from environments.models import Booking, Deployment, Environment, MaintenanceWindow, WaitlistEntry

from .conftest import HOUR

MODELS = (Environment, Booking, MaintenanceWindow, Deployment, WaitlistEntry)
MODEL_IDS = [model._meta.model_name for model in MODELS]
INLINES = ("maintenance_windows", "deployments")


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def moment(value) -> dict:
    local = timezone.localtime(value)
    return {"0": local.date().isoformat(), "1": local.strftime("%H:%M:%S")}


def booking_post(environment, team, start, end, purpose="admin booking") -> dict:
    data = {"environment": environment.pk, "team": team.pk, "release": "", "purpose": purpose}
    for name, value in (("start", start), ("end", end)):
        for part, text in moment(value).items():
            data[f"{name}_{part}"] = text
    return data


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def one_of_each(book, bob, search, staging, soon, alice):
    held = book(0, 1)
    services.waitlist_join(
        actor=bob, environment=staging, team=search, start=soon, end=soon + HOUR, purpose="x"
    )
    services.maintenance_window_create(
        actor=bob, environment=staging, start=soon + 5 * HOUR, end=soon + 6 * HOUR, reason="x"
    )
    services.deployment_report(actor=alice, environment=staging, version="4.3.0")
    return held


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_every_environments_admin_page_loads_for_a_superuser(client, admin, one_of_each, model):
    client.force_login(admin)
    assert client.get(url(model, "changelist")).status_code == 200, model
    # Release managers record a deployment by hand (through the service) in the admin.
    assert client.get(url(model, "add")).status_code == 200, model
    obj = model.objects.first()
    assert client.get(url(model, "change", obj.pk)).status_code == 200, model


def test_a_team_member_books_through_the_admin(client, alice, payments, staging, soon):
    client.force_login(staff(alice))
    response = client.post(url(Booking, "add"), booking_post(staging, payments, soon, soon + HOUR))
    assert response.status_code == 302, response.content
    booking = Booking.objects.get()
    assert (booking.booked_by, booking.state, booking.start) == (alice, "confirmed", soon)


def test_a_conflict_in_the_admin_is_a_form_error_and_nothing_is_stored(
    client, alice, payments, staging, soon, book, bob, search
):
    book(0, 2, actor=bob, team=search, purpose="load test")
    client.force_login(staff(alice))
    response = client.post(
        url(Booking, "add"), booking_post(staging, payments, soon + HOUR, soon + 3 * HOUR)
    )
    assert response.status_code == 200
    assert "staging is booked by Search for “load test”" in response.content.decode()
    assert Booking.objects.count() == 1


def test_a_team_member_cannot_book_for_another_team_in_the_admin(
    client, alice, search, staging, soon
):
    client.force_login(staff(alice))
    response = client.post(url(Booking, "add"), booking_post(staging, search, soon, soon + HOUR))
    assert response.status_code == 200
    assert "Only members of Search" in response.content.decode()
    assert not Booking.objects.exists()


def test_a_booking_is_extended_through_its_change_page(client, alice, book, soon):
    booking = book(0, 1)
    client.force_login(staff(alice))
    data = {f"end_{part}": text for part, text in moment(soon + 2 * HOUR).items()}
    response = client.post(url(Booking, "change", booking.pk), data)
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.end == soon + 2 * HOUR


def test_the_environments_owner_cancels_another_teams_booking_with_the_action(
    client, bob, book, qa
):
    on_staging, on_qa = book(0, 1), book(0, 1, environment=qa)
    client.force_login(staff(bob))  # Search owns staging, nobody owns qa
    response = client.post(
        url(Booking, "changelist"),
        {"action": "cancel_selected", "_selected_action": [on_staging.pk, on_qa.pk]},
    )
    assert response.status_code == 302
    on_staging.refresh_from_db()
    on_qa.refresh_from_db()
    assert (on_staging.state, on_qa.state) == ("cancelled", "confirmed")
    assert any("Only members of Payments" in m for m in messages_of(response))


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_an_outsider_is_refused_the_environments_admin(client, outsider, book, model):
    book(0, 1)
    client.force_login(staff(outsider))
    assert client.get(url(model, "changelist")).status_code == 403, model
    assert client.get(url(model, "add")).status_code == 403, model


def test_an_outsider_may_not_book_or_cancel_in_the_admin(client, outsider, book, staging, soon):
    booking = book(0, 1)
    client.force_login(staff(outsider))
    assert (
        client.post(
            url(Booking, "add"), booking_post(staging, booking.team, soon, soon)
        ).status_code
        == 403
    )
    response = client.post(
        url(Booking, "changelist"), {"action": "cancel_selected", "_selected_action": [booking.pk]}
    )
    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.state == "confirmed"


def environment_post(environment: Environment, rows=(), **changes) -> dict:
    data = {
        "url": environment.url,
        "description": environment.description,
        "bookable": "on" if environment.bookable else "",
        "max_booking_minutes": environment.max_booking_minutes or "",
        "min_notice_minutes": environment.min_notice_minutes,
        "max_active_bookings_per_team": environment.max_active_bookings_per_team or "",
        **changes,
    }
    for prefix in INLINES:
        new_rows = rows if prefix == "maintenance_windows" else []
        data[f"{prefix}-TOTAL_FORMS"] = str(len(new_rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for index, row in enumerate(new_rows):
            for name, value in row.items():
                data[f"{prefix}-{index}-{name}"] = value
    return data


def test_the_owner_sets_rules_and_maintenance_in_the_admin(client, bob, staging, soon, book):
    client.force_login(staff(bob))
    row = {f"start_{p}": t for p, t in moment(soon + 3 * HOUR).items()}
    row |= {f"end_{p}": t for p, t in moment(soon + 4 * HOUR).items()}
    row["reason"] = "OS upgrade"
    response = client.post(
        url(Environment, "change", staging.pk),
        environment_post(staging, rows=[row], max_booking_minutes="120", name="hijacked"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    staging.refresh_from_db()
    assert (staging.max_booking_minutes, staging.name) == (120, "staging")
    assert staging.maintenance_windows.get().reason == "OS upgrade"


def test_maintenance_over_a_booking_is_refused_in_the_admin(client, bob, staging, soon, book):
    book(0, 1, purpose="smoke")
    client.force_login(staff(bob))
    row = {f"start_{p}": t for p, t in moment(soon).items()}
    row |= {f"end_{p}": t for p, t in moment(soon + HOUR).items()}
    row["reason"] = "OS upgrade"
    response = client.post(
        url(Environment, "change", staging.pk),
        environment_post(staging, rows=[row], max_booking_minutes="120"),
    )
    assert response.status_code == 200
    assert "cancel that booking first" in response.content.decode()
    staging.refresh_from_db()
    assert staging.max_booking_minutes is None, "nothing stored, not even the rules"
    assert not MaintenanceWindow.objects.exists()


def test_a_team_member_cannot_change_an_environment_they_do_not_own(client, alice, staging):
    client.force_login(staff(alice))
    response = client.post(
        url(Environment, "change", staging.pk), environment_post(staging, min_notice_minutes="5")
    )
    assert response.status_code == 403
    staging.refresh_from_db()
    assert staging.min_notice_minutes == 0


def test_a_team_member_queues_and_withdraws_in_the_admin(
    client, alice, payments, staging, soon, book, bob, search
):
    book(0, 2, actor=bob, team=search, purpose="load test")
    client.force_login(staff(alice))
    free = booking_post(staging, payments, soon + 2 * HOUR, soon + 3 * HOUR)
    del free["release"]
    response = client.post(url(WaitlistEntry, "add"), free)
    assert "book it instead" in response.content.decode()
    taken = booking_post(staging, payments, soon + HOUR, soon + 3 * HOUR)
    del taken["release"]
    assert client.post(url(WaitlistEntry, "add"), taken).status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.requested_by, entry.state) == (alice, "waiting")
    client.post(
        url(WaitlistEntry, "changelist"),
        {"action": "withdraw_selected", "_selected_action": [entry.pk]},
    )
    entry.refresh_from_db()
    assert entry.state == "withdrawn"


def test_bookings_cannot_be_deleted_only_cancelled(rf, admin):
    from django.contrib.admin.sites import site

    request = rf.get("/")
    request.user = admin
    assert not BookingAdmin(Booking, site).has_delete_permission(request)
