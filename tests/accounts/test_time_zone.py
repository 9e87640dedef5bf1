"""A person's own time zone: chosen on the profile page or taken from the browser on the first
visit, kept in the session, and activated for every page without a query of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import zones
from accounts.models import Preferences
from approvals.models import AuditEvent
from calendars import tokens
from tests.zones import set_zone

pytestmark = pytest.mark.django_db

PROFILE = "/profile/"
CHANGE = "/profile/time-zone/"
BROWSER = "/accounts/time-zone/browser/"


def zone_of(user) -> str:
    return zones.stored(user)


def test_a_person_changes_their_zone_on_the_profile_page(client, alice):
    client.force_login(alice)
    response = client.post(CHANGE, {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert response.url == "/profile/#time-zone"
    assert zone_of(alice) == "Europe/Berlin"


def test_the_change_is_audited(client, alice):
    client.force_login(alice)
    client.post(CHANGE, {"time_zone": "America/Sao_Paulo"})
    event = AuditEvent.objects.get(action="preferences.update")
    assert (event.actor_id, event.before, event.after) == (
        alice.pk,
        {"time_zone": ""},
        {"time_zone": "America/Sao_Paulo"},
    )


def test_the_next_page_shows_the_new_zone_without_signing_in_again(client, alice):
    client.force_login(alice)
    client.post(CHANGE, {"time_zone": "Europe/Berlin"})
    page = client.get(PROFILE).content.decode()
    assert "times shown in Europe/Berlin" in page


@pytest.mark.parametrize(
    "value",
    ["Mars/Olympus_Mons", "", "europe/berlin", "Europe/Berlin\x00", "x" * 65],
    ids=["unknown", "empty", "wrong-case", "nul", "too-long"],
)
def test_a_bad_zone_is_a_400_naming_the_field(client, alice, value):
    client.force_login(alice)
    response = client.post(CHANGE, {"time_zone": value})
    assert response.status_code == 400
    assert response.context["time_zone_form"].errors["time_zone"]
    assert zone_of(alice) == ""


def test_the_form_changes_only_the_readers_own_zone(client, alice, outsider):
    client.force_login(outsider)
    client.post(CHANGE, {"time_zone": "Asia/Tokyo", "user": alice.pk})
    assert (zone_of(outsider), zone_of(alice)) == ("Asia/Tokyo", "")


def test_nobody_changes_someone_elses_zone_through_the_service(alice, outsider):
    with pytest.raises(PermissionDenied):
        zones.time_zone_set(actor=outsider, user=alice, time_zone="Asia/Tokyo")
    assert zone_of(alice) == ""


def test_an_anonymous_visitor_is_sent_to_log_in_and_changes_nothing(client):
    response = client.post(CHANGE, {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert not Preferences.objects.exists()


def test_the_profile_page_offers_the_current_zone(client, alice):
    client.force_login(set_zone(alice, "America/Sao_Paulo"))
    form = client.get(PROFILE).context["time_zone_form"]
    assert form["time_zone"].value() == "America/Sao_Paulo"


# --- The browser's zone on a first visit ---------------------------------------------------------


def test_a_first_visit_loads_the_script_that_records_the_browsers_zone(client, alice):
    client.force_login(alice)
    assert "accounts/time_zone" in client.get(PROFILE).content.decode()


def test_a_person_with_a_zone_does_not_load_the_script(client, alice):
    client.force_login(set_zone(alice, "Europe/Berlin"))
    assert "accounts/time_zone" not in client.get(PROFILE).content.decode()


def test_the_browsers_zone_is_recorded_when_the_person_has_none(client, alice):
    client.force_login(alice)
    response = client.post(BROWSER, {"time_zone": "America/Sao_Paulo"})
    assert response.json() == {"time_zone": "America/Sao_Paulo", "changed": True}
    assert zone_of(alice) == "America/Sao_Paulo"


def test_the_browsers_zone_never_overrides_a_chosen_one(client, alice):
    client.force_login(set_zone(alice, "Europe/Berlin"))
    response = client.post(BROWSER, {"time_zone": "America/Sao_Paulo"})
    assert response.json() == {"time_zone": "Europe/Berlin", "changed": False}
    assert zone_of(alice) == "Europe/Berlin"


def test_an_unknown_browser_zone_is_a_400_naming_the_field(client, alice):
    client.force_login(alice)
    response = client.post(BROWSER, {"time_zone": "Etc/Unknown"})
    assert response.status_code == 400
    assert "time_zone" in response.json()


def test_without_a_zone_pages_use_the_sites_time_zone(client, alice, settings):
    settings.TIME_ZONE = "America/New_York"
    client.force_login(alice)
    assert "times shown in America/New_York" in client.get(PROFILE).content.decode()


# --- What it costs ---------------------------------------------------------------------------


def page_queries(client) -> int:
    client.get(PROFILE)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PROFILE).status_code == 200
    return len(queries)


def test_a_page_in_the_readers_zone_costs_no_extra_query(client, alice, bob):
    set_zone(bob, "Europe/Berlin")
    client.force_login(alice)
    without = page_queries(client)
    client.force_login(bob)
    assert page_queries(client) == without


def test_a_session_from_before_the_zone_reads_it_once(client, alice):
    client.force_login(set_zone(alice, "Europe/Berlin"))
    session = client.session
    del session[zones.SESSION_KEY]
    session.save()
    with CaptureQueriesContext(connection) as first:
        assert "times shown in Europe/Berlin" in client.get(PROFILE).content.decode()
    with CaptureQueriesContext(connection) as second:
        client.get(PROFILE)
    assert len(second) < len(first)


# --- API and feeds keep their offsets -------------------------------------------------------------


def test_the_api_answers_in_the_same_offsets_whatever_the_readers_zone(
    client, alice, make_release, soon
):
    release = make_release(go_live=datetime(2031, 7, 1, 12, tzinfo=UTC))
    client.force_login(alice)
    before = client.get(f"/api/v1/releases/{release.pk}/").json()["go_live"]
    set_zone(alice, "Europe/Berlin")
    client.force_login(alice)
    assert client.get(f"/api/v1/releases/{release.pk}/").json()["go_live"] == before


def test_the_api_still_refuses_a_time_without_an_offset_from_a_reader_with_a_zone(
    client, manager, payments
):
    client.force_login(set_zone(manager, "Europe/Berlin"))
    body = {"name": "P", "version": "1", "team": "payments", "go_live": "2031-01-10T10:00:00"}
    response = client.post("/api/v1/releases/", body, content_type="application/json")
    assert response.status_code == 400
    assert "Include a UTC offset" in response.json()["go_live"][0]


def test_a_feed_keeps_utc_whatever_the_zone_of_the_session_fetching_it(client, alice, make_release):
    make_release(go_live=datetime(2031, 7, 1, 12, tzinfo=UTC))
    raw = tokens.feed_token_create(actor=alice, name="Work")[1]
    client.force_login(set_zone(alice, "Europe/Berlin"))
    body = client.get(f"/feeds/{raw}.ics").content.decode()
    assert "DTSTART:20310701T120000Z" in body
    assert "TZID" not in body


def test_the_evidence_pages_stay_in_utc_for_every_reader(client, admin):
    client.force_login(set_zone(admin, "Europe/Berlin"))
    page = client.get("/evidence/").content.decode()
    assert "times shown in UTC" in page


def test_the_admin_lists_name_the_readers_zone(client, admin):
    client.force_login(set_zone(admin, "America/Sao_Paulo"))
    page = client.get("/admin/approvals/auditevent/").content.decode()
    assert "Times in America/Sao_Paulo" in page


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/Sao_Paulo"], ids=["berlin", "sao-paulo"]
)
def test_the_admin_sign_off_pages_show_the_go_live_in_the_approvers_zone(
    client, priya, frozen, zone
):
    release = frozen(go_live=datetime(2036, 12, 9, 14, tzinfo=UTC))
    client.force_login(set_zone(priya, zone))
    local = f"{timezone.localtime(release.go_live, ZoneInfo(zone)):%H:%M}"
    pending = client.get("/admin/approvals/signoff/pending/").content.decode()
    sign = client.get(f"/admin/approvals/signoff/sign/{release.pk}/?role=product")
    assert local in pending
    assert local in sign.content.decode()
