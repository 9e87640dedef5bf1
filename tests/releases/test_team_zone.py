"""A team that plans in its own zone (a freeze "until midnight Pacific"): its freezes and
go-lives show in that zone too, next to the reader's own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.core.exceptions import ValidationError

from releases import services
from tests.zones import set_zone

pytestmark = pytest.mark.django_db

PACIFIC = "America/Los_Angeles"
# Midnight Pacific (PST, UTC−8) on 8 and 12 December 2036: 09:00 in Berlin (CET, UTC+1).
START = datetime(2036, 12, 8, 8, tzinfo=UTC)
END = datetime(2036, 12, 12, 8, tzinfo=UTC)


def page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    words = re.sub(r"<[^>]+>", " ", response.content.decode())  # the text, without markup
    return " ".join(unescape(words).split())


@pytest.fixture
def pacific(payments, admin):
    return services.team_update(actor=admin, team=payments, time_zone=PACIFIC)


@pytest.fixture
def freeze(manager, pacific):
    return services.freeze_window_create(
        actor=manager, name="Holiday freeze", start=START, end=END, team=pacific
    )


def test_a_teams_freeze_shows_in_the_teams_zone(client, alice, freeze):
    shown = page(client, set_zone(alice, "Europe/Berlin"), "/releases/freezes/")
    assert f"until Fri 12 Dec 2036, 00:00 {PACIFIC}" in shown


def test_a_teams_freeze_also_shows_in_the_readers_zone(client, alice, freeze):
    shown = page(client, set_zone(alice, "Europe/Berlin"), "/releases/freezes/")
    assert "Mon 8 Dec, 09:00 until Fri 12 Dec, 09:00 Europe/Berlin" in shown


def test_a_reader_in_the_teams_zone_sees_the_times_once(client, alice, freeze):
    shown = page(client, set_zone(alice, PACIFIC), "/releases/freezes/")
    assert shown.count("00:00") == 2
    assert "until Fri 12 Dec 2036, 00:00 America/Los_Angeles" in shown


def test_a_freeze_of_a_team_without_a_zone_shows_the_readers_only(client, alice, manager, search):
    services.freeze_window_create(
        actor=manager, name="Search freeze", start=START, end=END, team=search
    )
    shown = page(client, set_zone(alice, "Europe/Berlin"), "/releases/freezes/")
    assert "until Fri 12 Dec 2036, 09:00" in shown
    assert PACIFIC not in shown


def test_the_release_page_shows_the_go_live_in_the_teams_zone_too(
    client, alice, make_release, pacific
):
    release = make_release(go_live=START)
    shown = page(client, set_zone(alice, "Europe/Berlin"), release.get_absolute_url())
    assert "Mon 8 Dec 2036, 09:00" in shown
    assert f"Mon 8 Dec, 00:00 {PACIFIC} (the zone Payments plans in)" in shown


def test_an_unknown_team_zone_is_refused_naming_the_field(admin, payments):
    with pytest.raises(ValidationError) as refused:
        services.team_update(actor=admin, team=payments, time_zone="Pacific/Nowhere")
    assert "time_zone" in refused.value.message_dict


def test_a_go_live_refused_by_a_teams_freeze_names_its_end_in_the_teams_zone(
    manager, make_release, freeze
):
    release = make_release(go_live=END + timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        services.release_update(actor=manager, release=release, go_live=START + timedelta(hours=1))
    assert "until 2036-12-12 00:00 America/Los_Angeles" in refused.value.message_dict["go_live"][0]
