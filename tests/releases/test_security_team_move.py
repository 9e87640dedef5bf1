"""Issue 15, finding 8: moving a release to another team needs membership of the target team or
the release managers' group; the release's named manager alone is not enough."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from releases import services
from releases.models import Release, Team


@pytest.fixture
def mobile(db) -> Team:
    return Team.objects.create(name="Mobile", slug="mobile", is_private=True)


@pytest.fixture
def own(make_release, alice):
    """A Payments release whose named manager is alice (Payments, not Mobile nor Search)."""
    return make_release(name="Payments 9.0", manager=alice)


def url(release) -> str:
    return f"/api/v1/releases/{release.pk}/"


@pytest.mark.parametrize("slug", ["mobile", "search"], ids=["private", "public"])
def test_a_named_manager_cannot_move_her_release_into_a_team_she_is_not_in(
    api, alice, own, mobile, search, slug
):
    response = api.as_user(alice).patch(url(own), {"team": slug}, format="json")

    assert response.status_code == 403
    assert Release.objects.get(pk=own.pk).team.slug == "payments"


def test_the_service_refuses_the_move_and_stores_nothing(alice, own, mobile):
    with pytest.raises(PermissionDenied):
        services.release_update(actor=alice, release=own, team=mobile)

    own.refresh_from_db()
    assert own.team.slug == "payments"
    assert own.sequence == Release.objects.get(pk=own.pk).sequence


def test_a_named_manager_may_move_her_release_into_a_team_she_is_in(api, alice, own, mobile):
    mobile.members.add(alice)

    response = api.as_user(alice).patch(url(own), {"team": "mobile"}, format="json")

    assert response.status_code == 200, response.data
    assert Release.objects.get(pk=own.pk).team == mobile


def test_a_release_manager_may_move_any_release(api, manager, own, mobile):
    response = api.as_user(manager).patch(url(own), {"team": "mobile"}, format="json")

    assert response.status_code == 200, response.data
    assert Release.objects.get(pk=own.pk).team == mobile


def test_a_named_manager_may_still_edit_other_fields(api, alice, own):
    response = api.as_user(alice).patch(
        url(own), {"team": "payments", "version": "9.0.1"}, format="json"
    )

    assert response.status_code == 200, response.data
    assert Release.objects.get(pk=own.pk).version == "9.0.1"


def test_an_outsider_cannot_move_a_release(api, outsider, own, search):
    response = api.as_user(outsider).patch(url(own), {"team": "search"}, format="json")

    assert response.status_code == 403
    assert Release.objects.get(pk=own.pk).team.slug == "payments"
