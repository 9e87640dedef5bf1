"""Issue 15, finding 11 (bidi part): bidi control characters (U+202A–U+202E, U+2066–U+2069) are
refused in short text fields (names, titles, versions, purposes) by the API and the page forms,
with a message naming the field; long free text keeps them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from environments.models import Booking, Environment
from releases.models import FreezeWindow, Milestone, Release

REVERSES = "contains a control character that reverses text direction"
RLO, LRI, PDI = "\u202e", "\u2066", "\u2069"


def release_body(soon, **extra) -> dict:
    return {
        "name": "Payments 4.3",
        "version": "4.3",
        "team": "payments",
        "go_live": soon.isoformat(),
    } | extra


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", f"Payments{RLO} 4.3"),
        ("name", "\u202aPayments 4.3"),
        ("version", f"4.3{LRI}-rc{PDI}"),
        ("version", "4.3\u2068"),
    ],
    ids=["name-rlo", "name-lre", "version-lri", "version-fsi"],
)
def test_the_release_api_refuses_bidi_controls_naming_the_field(
    api, manager, payments, soon, field, value
):
    response = api.as_user(manager).post(
        "/api/v1/releases/", release_body(soon, **{field: value}), format="json"
    )

    assert response.status_code == 400
    assert REVERSES in response.data[field][0]
    assert field.title() in response.data[field][0]
    assert not Release.objects.exists()


def test_the_release_api_keeps_bidi_controls_in_a_long_description(api, manager, payments, soon):
    description = f"Arabic notes: {RLO}…"
    response = api.as_user(manager).post(
        "/api/v1/releases/", release_body(soon, description=description), format="json"
    )

    assert response.status_code == 201, response.data
    assert Release.objects.get().description == description


def test_the_milestone_api_refuses_a_bidi_title(api, manager, make_release):
    release = make_release()
    response = api.as_user(manager).post(
        "/api/v1/milestones/",
        {"release": release.pk, "kind": "custom", "title": f"Code{RLO}freeze", "date": None},
        format="json",
    )

    assert response.status_code == 400
    assert REVERSES in response.data["title"][0]
    assert not Milestone.objects.exists()


def test_the_freeze_window_api_refuses_a_bidi_name(api, manager, soon):
    response = api.as_user(manager).post(
        "/api/v1/freeze-windows/",
        {"name": f"Year{LRI}end", "start": soon.isoformat(), "end": soon.isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert REVERSES in response.data["name"][0]
    assert not FreezeWindow.objects.exists()


def test_the_booking_api_refuses_a_bidi_purpose(api, alice, soon):
    Environment.objects.create(name="staging", slug="staging", kind="staging")
    response = api.as_user(alice).post(
        "/api/v1/bookings/",
        {
            "environment": "staging",
            "team": "payments",
            "purpose": f"Regression{RLO}",
            "start": soon.isoformat(),
            "end": soon.isoformat(),
        },
        format="json",
    )

    assert response.status_code == 400
    assert REVERSES in response.data["purpose"][0]
    assert not Booking.objects.exists()


def test_the_new_release_page_refuses_a_bidi_name(client, manager, payments, soon):
    client.force_login(manager)
    response = client.post(
        reverse("releases:create"),
        {
            "name": f"Payments{RLO} 4.3",
            "version": "4.3",
            "team": payments.pk,
            "go_live": soon.strftime("%Y-%m-%dT%H:%M"),
            "strategy": "rolling",
        },
    )

    assert response.status_code in (200, 400)
    assert f"Name {REVERSES}" in response.content.decode()
    assert not Release.objects.exists()


def test_the_milestone_form_on_the_release_page_refuses_a_bidi_title(client, manager, make_release):
    release = make_release()
    client.force_login(manager)
    response = client.post(
        reverse("releases:milestone-add", args=[release.pk]),
        {"kind": "custom", "title": f"Code{PDI}freeze", "date": "2030-01-01"},
        follow=True,
    )

    assert response.redirect_chain, "a refusal redirects to the release page"
    assert REVERSES in response.content.decode()
    assert not Milestone.objects.exists()
