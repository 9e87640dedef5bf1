"""Milestones and scope items through the API."""

from __future__ import annotations

from datetime import timedelta

from releases import services
from releases.models import Milestone, ScopeItem


def test_it_creates_milestones_all_day_or_timed_and_filters_them_by_release(
    api, make_release, manager, soon
):
    release, other = make_release(), make_release()
    client = api.as_user(manager)

    all_day = client.post(
        "/api/v1/milestones/",
        {
            "release": release.pk,
            "kind": "code_freeze",
            "date": str((soon - timedelta(days=7)).date()),
        },
    )
    timed = client.post(
        "/api/v1/milestones/",
        {"release": release.pk, "kind": "go_no_go", "at": (soon - timedelta(hours=2)).isoformat()},
    )
    services.milestone_create(actor=manager, release=other, kind="go_live", at=soon)

    assert all_day.status_code == 201, all_day.data
    assert timed.status_code == 201, timed.data
    assert all_day.data["all_day"] is True
    assert timed.data["label"] == "Go/no-go"
    listed = client.get("/api/v1/milestones/", {"release": release.pk}).data
    assert {m["id"] for m in listed["results"]} == {all_day.data["id"], timed.data["id"]}


def test_it_updates_and_deletes_a_milestone(api, make_release, manager, soon):
    release = make_release()
    milestone = services.milestone_create(
        actor=manager, release=release, kind="custom", title="Dry run", at=soon
    )
    client = api.as_user(manager)

    done = client.patch(f"/api/v1/milestones/{milestone.pk}/", {"done": True})
    gone = client.delete(f"/api/v1/milestones/{milestone.pk}/")

    assert done.status_code == 200, done.data
    assert done.data["done"] is True
    assert gone.status_code == 204
    assert not Milestone.objects.exists()


def test_it_never_moves_a_milestone_to_another_release(api, make_release, manager, soon):
    release, other = make_release(), make_release()
    milestone = services.milestone_create(actor=manager, release=release, kind="go_live", at=soon)
    response = api.as_user(manager).patch(
        f"/api/v1/milestones/{milestone.pk}/", {"release": other.pk, "done": True}
    )
    assert response.status_code == 200
    milestone.refresh_from_db()
    assert milestone.release == release
    assert milestone.done


def test_it_refuses_a_custom_milestone_without_a_title(api, make_release, manager, soon, stored):
    release = make_release()
    before = stored()
    response = api.as_user(manager).post(
        "/api/v1/milestones/", {"release": release.pk, "kind": "custom", "at": soon.isoformat()}
    )
    assert response.status_code == 400
    assert "title" in response.data
    assert stored() == before


def test_it_refuses_a_milestone_with_both_date_and_time(api, make_release, manager, soon, stored):
    release = make_release()
    before = stored()
    response = api.as_user(manager).post(
        "/api/v1/milestones/",
        {"release": release.pk, "kind": "go_live", "at": soon.isoformat(), "date": "2020-01-01"},
    )
    assert response.status_code == 400
    assert "at" in response.data
    assert stored() == before


def test_it_creates_updates_filters_and_deletes_scope_items(api, make_release, manager, alice):
    release, other = make_release(), make_release()
    client = api.as_user(alice)  # the owning team's engineers may edit scope

    created = client.post(
        "/api/v1/scope-items/",
        {
            "release": release.pk,
            "title": "3-D Secure 2",
            "kind": "feature",
            "ticket_key": "PAY-123",
            "ticket_url": "https://tracker.example.com/PAY-123",
            "owner": "alice",
        },
    )
    services.scope_item_create(actor=manager, release=other, title="Elsewhere")

    assert created.status_code == 201, created.data
    assert created.data["owner"] == "alice"
    listed = client.get("/api/v1/scope-items/", {"release": release.pk}).data["results"]
    assert [item["title"] for item in listed] == ["3-D Secure 2"]
    url = f"/api/v1/scope-items/{created.data['id']}/"
    changed = client.patch(url, {"kind": "security", "owner": None})
    assert changed.status_code == 200, changed.data
    assert (changed.data["kind"], changed.data["owner"]) == ("security", None)
    assert client.delete(url).status_code == 204
    assert ScopeItem.objects.filter(release=release).count() == 0


def test_it_refuses_scope_changes_once_frozen_until_moved_back(api, make_release, manager, stored):
    release = make_release()
    item = services.scope_item_create(actor=manager, release=release, title="Vault")
    client = api.as_user(manager)
    for state in ("planned", "scope_frozen"):
        client.post(f"/api/v1/releases/{release.pk}/transition/", {"to_state": state})
    before = stored()

    added = client.post("/api/v1/scope-items/", {"release": release.pk, "title": "Late"})
    changed = client.patch(f"/api/v1/scope-items/{item.pk}/", {"title": "Vault 2"})
    deleted = client.delete(f"/api/v1/scope-items/{item.pk}/")

    for response in (added, changed, deleted):
        assert response.status_code == 400
        assert "is frozen" in response.data["release"][0]
    assert stored() == before
    client.post(
        f"/api/v1/releases/{release.pk}/transition/",
        {"to_state": "planned", "reason": "Regulator asked for one more fix"},
    )
    assert (
        client.post("/api/v1/scope-items/", {"release": release.pk, "title": "Late"}).status_code
        == 201
    )
