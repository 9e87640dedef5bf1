"""Releases through the API: create, read, filter, order, page, change and delete."""

from __future__ import annotations

from datetime import timedelta

from releases.models import Release, ReleaseTransition

URL = "/api/v1/releases/"


def test_it_creates_a_release_and_answers_with_the_summary_ci_needs(api, manager, payments, soon):
    body = {
        "name": "Payments 4.3",
        "version": "4.3",
        "team": "payments",
        "go_live": soon.isoformat(),
        "strategy": "blue_green",
        "rollback_plan": "Switch the router back to blue.",
    }
    response = api.as_user(manager).post(URL, body)

    assert response.status_code == 201, response.data
    data = response.json()
    release = Release.objects.get(pk=data["id"])
    assert release.name == "Payments 4.3"
    assert release.team == payments
    assert release.manager == manager
    assert data["team"] == "payments"
    assert data["team_name"] == "Payments"
    assert data["manager"] == "manager"
    assert data["state"] == "draft"
    assert data["state_label"] == "Draft"
    assert data["allowed_transitions"] == ["planned", "cancelled"]
    assert data["window_end"] is None
    assert data["window_closes_at"] == (soon + timedelta(hours=1)).isoformat().replace(
        "+00:00", "Z"
    )
    # The service recorded the creation in the history, as it does for the admin and pages.
    assert ReleaseTransition.objects.filter(release=release).count() == 1


def test_it_creates_a_release_with_another_manager_by_username(api, manager, alice, soon):
    response = api.as_user(manager).post(
        URL,
        {
            "name": "P 1",
            "version": "1",
            "team": "payments",
            "manager": "alice",
            "go_live": soon.isoformat(),
        },
    )
    assert response.status_code == 201, response.data
    assert Release.objects.get(pk=response.data["id"]).manager == alice


def test_it_lists_and_retrieves_releases_for_any_signed_in_user(api, make_release, outsider):
    first = make_release(name="Payments 1.0")
    make_release(name="Payments 2.0")
    client = api.as_user(outsider)

    listing = client.get(URL)
    detail = client.get(f"{URL}{first.pk}/")

    assert listing.status_code == 200
    assert listing.data["count"] == 2
    assert [r["name"] for r in listing.data["results"]] == ["Payments 1.0", "Payments 2.0"]
    assert detail.status_code == 200
    assert detail.data["name"] == "Payments 1.0"


def test_it_filters_releases_by_team_state_date_range_month_and_text(
    api, make_release, manager, search, soon
):
    pay = make_release(name="Payments 7.0", version="7.0")
    found = make_release(name="Search 2.1", version="2.1", team=search)
    later = make_release(name="Payments 8.0", version="8.0", go_live=soon + timedelta(days=60))
    api.as_user(manager).post(f"{URL}{pay.pk}/transition/", {"to_state": "planned"})

    def names(**params):
        response = api.get(URL, params)
        assert response.status_code == 200, response.data
        return {r["name"] for r in response.data["results"]}

    assert names(team="search") == {found.name}
    assert names(team=["search", "payments"]) == {pay.name, found.name, later.name}
    assert names(state="planned") == {pay.name}
    assert names(go_live_after=(soon + timedelta(days=30)).isoformat()) == {later.name}
    assert names(go_live_before=(soon + timedelta(days=30)).isoformat()) == {pay.name, found.name}
    assert names(month=(soon + timedelta(days=60)).strftime("%Y-%m")) == {later.name}
    assert names(q="search") == {found.name}


def test_it_orders_and_pages_releases(api, make_release, manager, soon):
    for number in range(3):
        make_release(name=f"R{number}", go_live=soon + timedelta(days=number))
    client = api.as_user(manager)

    newest_first = client.get(URL, {"ordering": "-go_live"})
    page_two = client.get(URL, {"page_size": 2, "page": 2})

    assert [r["name"] for r in newest_first.data["results"]] == ["R2", "R1", "R0"]
    assert page_two.data["count"] == 3
    assert [r["name"] for r in page_two.data["results"]] == ["R2"]
    assert page_two.data["previous"] is not None


def test_it_updates_a_release_through_the_service(api, make_release, manager, soon):
    release = make_release()
    new_go_live = soon + timedelta(days=2)

    response = api.as_user(manager).patch(
        f"{URL}{release.pk}/",
        {"go_live": new_go_live.isoformat(), "window_end": (new_go_live + timedelta(hours=3))},
    )

    assert response.status_code == 200, response.data
    release.refresh_from_db()
    assert release.go_live == new_go_live
    assert release.window_end == new_go_live + timedelta(hours=3)
    assert response.json()["window_closes_at"] == response.json()["window_end"]


def test_it_lets_the_release_own_manager_change_it(api, make_release, alice, manager):
    release = make_release(manager=alice)
    response = api.as_user(alice).patch(f"{URL}{release.pk}/", {"description": "Card vault"})
    assert response.status_code == 200, response.data
    release.refresh_from_db()
    assert release.description == "Card vault"


def test_it_refuses_to_change_the_state_by_patch(api, make_release, manager):
    release = make_release()
    response = api.as_user(manager).patch(f"{URL}{release.pk}/", {"state": "released"})
    # state is read-only: the field is ignored, the lifecycle only moves by transition.
    assert response.status_code == 200
    release.refresh_from_db()
    assert release.state == "draft"


def test_it_has_no_full_replace(api, make_release, manager):
    release = make_release()
    response = api.as_user(manager).put(f"{URL}{release.pk}/", {"name": "X"})
    assert response.status_code == 405


def test_it_deletes_a_draft_release(api, make_release, manager):
    release = make_release()
    response = api.as_user(manager).delete(f"{URL}{release.pk}/")
    assert response.status_code == 204
    assert not Release.objects.filter(pk=release.pk).exists()


def test_it_refuses_to_delete_a_planned_release_naming_the_state(
    api, make_release, manager, stored
):
    release = make_release()
    client = api.as_user(manager)
    client.post(f"{URL}{release.pk}/transition/", {"to_state": "planned"})
    before = stored()

    response = client.delete(f"{URL}{release.pk}/")

    assert response.status_code == 400
    assert "cancel it first" in response.data["state"][0]
    assert stored() == before


def test_it_answers_404_for_an_unknown_release(api, manager):
    client = api.as_user(manager)
    assert client.get(f"{URL}999999/").status_code == 404
    assert client.patch(f"{URL}999999/", {"name": "x"}).status_code == 404
    assert client.delete(f"{URL}999999/").status_code == 404
    assert client.post(f"{URL}999999/transition/", {"to_state": "planned"}).status_code == 404
    assert client.get(f"{URL}999999/transitions/").status_code == 404
