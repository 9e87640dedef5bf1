"""Freeze windows through the API, and go-lives inside them: refused for a release manager
with the freeze named, allowed with a reason for a user holding the override permission."""

from __future__ import annotations

from datetime import timedelta

import pytest

from releases import services
from releases.models import FreezeWindow, Release

URL = "/api/v1/freeze-windows/"


def test_it_creates_a_freeze_for_everyone_or_one_team(api, manager, payments, soon):
    client = api.as_user(manager)
    everyone = client.post(
        URL, {"name": "Year end", "start": soon.isoformat(), "end": (soon + timedelta(days=9))}
    )
    one_team = client.post(
        URL,
        {
            "name": "PCI audit",
            "reason": "Auditors on site",
            "start": soon.isoformat(),
            "end": (soon + timedelta(days=1)).isoformat(),
            "team": "payments",
        },
    )
    assert everyone.status_code == 201, everyone.data
    assert one_team.status_code == 201, one_team.data
    assert everyone.data["team"] is None
    assert everyone.data["scope_label"] == "all teams"
    assert one_team.data["scope_label"] == "Payments"
    assert FreezeWindow.objects.get(name="PCI audit").team == payments


def test_it_filters_freezes_by_team_and_moment(api, manager, payments, soon):
    services.freeze_window_create(
        actor=manager, name="Pay", team=payments, start=soon, end=soon + timedelta(days=1)
    )
    services.freeze_window_create(
        actor=manager,
        name="Later",
        start=soon + timedelta(days=10),
        end=soon + timedelta(days=11),
    )
    client = api.as_user(manager)

    def names(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.data
        return [f["name"] for f in response.data["results"]]

    assert names(team="payments") == ["Pay"]
    assert names(active_at=(soon + timedelta(hours=1)).isoformat()) == ["Pay"]
    assert names(ends_after=(soon + timedelta(days=2)).isoformat()) == ["Later"]
    assert names(starts_before=(soon + timedelta(days=2)).isoformat()) == ["Pay"]


def test_it_updates_and_deletes_a_freeze(api, manager, year_end_freeze):
    client = api.as_user(manager)
    url = f"{URL}{year_end_freeze.pk}/"
    changed = client.patch(url, {"reason": "Card networks frozen"})
    assert changed.status_code == 200, changed.data
    assert changed.data["reason"] == "Card networks frozen"
    assert client.delete(url).status_code == 204
    assert not FreezeWindow.objects.exists()


def release_body(go_live, **extra):
    return {"name": "P 9", "version": "9", "team": "payments", "go_live": go_live.isoformat()} | (
        extra
    )


def test_it_refuses_a_go_live_in_a_freeze_to_a_manager_naming_the_freeze(
    api, manager, payments, year_end_freeze, soon, stored
):
    before = stored()
    response = api.as_user(manager).post(
        "/api/v1/releases/", release_body(soon, freeze_override_reason="Mandate")
    )
    assert response.status_code == 400
    message = response.data["go_live"][0]
    assert "falls in the freeze window “Year-end freeze”" in message
    assert stored() == before


def test_it_refuses_moving_a_go_live_into_a_freeze(
    api, make_release, manager, year_end_freeze, soon, stored
):
    release = make_release(go_live=soon + timedelta(days=3))
    before = stored()
    response = api.as_user(manager).patch(
        f"/api/v1/releases/{release.pk}/", {"go_live": soon.isoformat()}
    )
    assert response.status_code == 400
    assert "Year-end freeze" in response.data["go_live"][0]
    assert stored() == before
    release.refresh_from_db()
    assert release.go_live == soon + timedelta(days=3)


@pytest.mark.parametrize("who", ["admin", "overrider"])
def test_it_lets_an_overriding_user_plan_a_go_live_in_a_freeze_with_a_reason(
    request, api, payments, year_end_freeze, soon, who
):
    user = request.getfixturevalue(who)
    response = api.as_user(user).post(
        "/api/v1/releases/", release_body(soon, freeze_override_reason="Card scheme mandate")
    )
    assert response.status_code == 201, response.data
    release = Release.objects.get(pk=response.data["id"])
    assert release.freeze_override_reason == "Card scheme mandate"


@pytest.mark.parametrize("who", ["admin", "overrider"])
def test_it_asks_an_overriding_user_for_a_reason(
    request, api, payments, year_end_freeze, soon, stored, who
):
    user = request.getfixturevalue(who)
    before = stored()
    response = api.as_user(user).post("/api/v1/releases/", release_body(soon))
    assert response.status_code == 400
    assert "Give a reason to override the freeze" in response.data["freeze_override_reason"][0]
    assert "Year-end freeze" in response.data["freeze_override_reason"][0]
    assert stored() == before
