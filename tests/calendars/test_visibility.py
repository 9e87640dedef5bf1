"""Invariant 7: a feed (and the pages and API) show only what the reader may see.

A private team's releases, their milestones and the team's own freezes are visible to its
members, release managers, auditors, superusers and the release's own manager; nobody else
learns they exist (404, not 403).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from releases import roles, services
from tests.conftest import PASSWORD

from .conftest import HOST, events_by_uid, parse_strictly

pytestmark = pytest.mark.django_db


@pytest.fixture
def vault(payments):
    """Payments, made private (alice is a member)."""
    payments.is_private = True
    payments.save()
    return payments


@pytest.fixture
def auditor(db) -> User:
    user = User.objects.create_user("quinn", "quinn@example.com", PASSWORD)
    user.groups.add(Group.objects.get(name=roles.AUDITORS))
    return user


@pytest.fixture
def secret(vault, manager, make_release, soon):
    release = make_release(team=vault, name="Payments secret 9.0", version="9.0")
    milestone = services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=(soon - timedelta(days=1)).date()
    )
    freeze = services.freeze_window_create(
        actor=manager,
        name="Payments-only freeze",
        start=soon + timedelta(days=5),
        end=soon + timedelta(days=6),
        team=vault,
    )
    return release, milestone, freeze


@pytest.fixture
def open_plan(manager, make_release, search, soon):
    release = make_release(team=search, name="Search 2.1", version="2.1")
    freeze = services.freeze_window_create(
        actor=manager, name="Everyone", start=soon + timedelta(days=8), end=soon + timedelta(days=9)
    )
    return release, freeze


def uids_for(user, client, make_token) -> set[str]:
    raw = make_token(user)
    return set(events_by_uid(parse_strictly(client.get(reverse("feed", args=[raw])).content)))


def secret_uids(secret) -> set[str]:
    release, milestone, freeze = secret
    return {
        f"go-live-{release.pk}@{HOST}",
        f"milestone-{milestone.pk}@{HOST}",
        f"freeze-{freeze.pk}@{HOST}",
    }


def open_uids(open_plan) -> set[str]:
    release, freeze = open_plan
    return {f"go-live-{release.pk}@{HOST}", f"freeze-{freeze.pk}@{HOST}"}


def test_an_outsiders_feed_leaves_out_a_private_teams_events(
    client, make_token, outsider, bob, secret, open_plan
):
    assert uids_for(outsider, client, make_token) == open_uids(open_plan)
    assert uids_for(bob, client, make_token) == open_uids(open_plan)


@pytest.mark.parametrize("persona", ["alice", "manager", "auditor", "admin"])
def test_members_managers_auditors_and_superusers_see_the_private_team(
    request, client, make_token, secret, open_plan, persona
):
    user = request.getfixturevalue(persona)
    assert uids_for(user, client, make_token) == secret_uids(secret) | open_uids(open_plan)


def test_the_feed_follows_membership_as_it_changes(
    client, make_token, outsider, vault, secret, open_plan
):
    raw = make_token(outsider)
    url = reverse("feed", args=[raw])
    before = client.get(url)
    vault.members.add(outsider)
    after = client.get(url, headers={"If-None-Match": before["ETag"]})
    assert after.status_code == 200
    assert secret_uids(secret) <= set(events_by_uid(parse_strictly(after.content)))
    vault.members.remove(outsider)
    assert client.get(url, headers={"If-None-Match": after["ETag"]}).status_code == 200


def test_a_filter_by_a_private_teams_slug_or_release_shows_an_outsider_nothing(
    client, make_token, outsider, secret
):
    release, _, _ = secret
    url = reverse("feed", args=[make_token(outsider)])
    for params in ({"team": "payments"}, {"release": release.pk}):
        response = client.get(url, params)
        assert events_by_uid(parse_strictly(response.content)) == {}


def test_the_release_pages_hide_a_private_teams_releases_from_an_outsider(
    client, outsider, alice, secret, open_plan
):
    release, _, _ = secret
    client.force_login(outsider)
    listing = client.get(reverse("releases:list")).content.decode()
    assert "Payments secret 9.0" not in listing and "Search 2.1" in listing
    assert client.get(reverse("releases:detail", args=[release.pk])).status_code == 404
    assert "Payments-only freeze" not in client.get(reverse("releases:freezes")).content.decode()
    client.force_login(alice)
    assert "Payments secret 9.0" in client.get(reverse("releases:list")).content.decode()
    assert client.get(reverse("releases:detail", args=[release.pk])).status_code == 200
    assert "Payments-only freeze" in client.get(reverse("releases:freezes")).content.decode()


def test_a_public_release_page_does_not_name_a_private_dependency(
    client, manager, outsider, secret, open_plan
):
    hidden, _, _ = secret
    public, _ = open_plan
    services.dependency_create(actor=manager, release=public, depends_on=hidden)
    client.force_login(outsider)
    page = client.get(reverse("releases:detail", args=[public.pk])).content.decode()
    assert "Payments secret 9.0" not in page
    client.force_login(manager)
    page = client.get(reverse("releases:detail", args=[public.pk])).content.decode()
    assert "Payments secret 9.0" in page


def test_the_api_hides_a_private_teams_releases_from_an_outsider(
    api, outsider, alice, secret, open_plan
):
    release, milestone, freeze = secret
    client = api.as_user(outsider)
    names = [r["name"] for r in client.get("/api/v1/releases/").json()["results"]]
    assert names == ["Search 2.1"]
    assert client.get(f"/api/v1/releases/{release.pk}/").status_code == 404
    assert client.get(f"/api/v1/releases/{release.pk}/transitions/").status_code == 404
    assert client.get(f"/api/v1/milestones/{milestone.pk}/").status_code == 404
    assert client.get("/api/v1/milestones/").json()["count"] == 0
    assert client.get(f"/api/v1/freeze-windows/{freeze.pk}/").status_code == 404
    assert [f["name"] for f in client.get("/api/v1/freeze-windows/").json()["results"]] == [
        "Everyone"
    ]
    # Writes meet the same wall: the release is not found, rather than forbidden.
    assert client.patch(f"/api/v1/releases/{release.pk}/", {"name": "x"}).status_code == 404
    member = api.as_user(alice)
    assert member.get(f"/api/v1/releases/{release.pk}/").status_code == 200
    assert member.get(f"/api/v1/milestones/{milestone.pk}/").status_code == 200


def test_a_releases_own_manager_sees_it_without_being_a_member(
    client, make_token, outsider, vault, make_release
):
    release = make_release(team=vault, manager=outsider)
    assert f"go-live-{release.pk}@{HOST}" in uids_for(outsider, client, make_token)
