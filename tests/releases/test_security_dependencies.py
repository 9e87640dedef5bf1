"""Issue 15, finding 1: private releases never leak through dependencies or milestones.

A release's named manager who is not in a private team, and an outsider, get the same answer
for a private release's id as for an id that does not exist; no refusal names a private release.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from releases import services
from releases.models import ReleaseDependency, ReleaseState, Team

DEPENDENCIES = "/api/v1/dependencies/"
MILESTONES = "/api/v1/milestones/"
SCOPE = "/api/v1/scope-items/"
HIDDEN = "a release you cannot see"


@pytest.fixture
def mobile(db) -> Team:
    return Team.objects.create(name="Mobile", slug="mobile", is_private=True)


@pytest.fixture
def secret(make_release, mobile):
    return make_release(name="Mobile Stealth 1.0", team=mobile)


@pytest.fixture
def own(make_release, alice):
    """A Payments release whose named manager is alice, who is not in Mobile."""
    return make_release(name="Payments 9.0", manager=alice)


@pytest.fixture
def missing_pk(secret) -> int:
    return secret.pk + 1000


def without_pk(errors: list, pk: int) -> list[str]:
    return [str(error).replace(str(pk), "N") for error in errors]


def test_a_named_manager_gets_the_same_400_for_a_private_release_as_for_a_missing_one(
    api, alice, own, secret, missing_pk
):
    client = api.as_user(alice)

    private = client.post(DEPENDENCIES, {"release": own.pk, "depends_on": secret.pk})
    missing = client.post(DEPENDENCIES, {"release": own.pk, "depends_on": missing_pk})

    assert private.status_code == missing.status_code == 400
    assert without_pk(private.data["depends_on"], secret.pk) == without_pk(
        missing.data["depends_on"], missing_pk
    )
    assert secret.name not in private.content.decode()
    assert not ReleaseDependency.objects.exists()


def test_counting_ids_lists_only_the_releases_the_manager_may_see(
    api, alice, own, secret, make_release, search
):
    public = make_release(name="Search 3.0", team=search)
    client = api.as_user(alice)

    # Every id from just below the releases this test made to just past them. Counting from 1
    # would post thousands of times on PostgreSQL, whose sequences run on across tests.
    made = (own.pk, secret.pk, public.pk)
    accepted = set()
    for pk in range(max(1, min(made) - 5), max(made) + 5):
        response = client.post(DEPENDENCIES, {"release": own.pk, "depends_on": pk})
        assert secret.name not in response.content.decode()
        if response.status_code == 201:
            accepted.add(response.data["depends_on"])

    assert public.pk in accepted
    assert secret.pk not in accepted


def test_an_outsider_gets_the_same_400_for_a_private_release_as_for_a_missing_one(
    api, outsider, own, secret, missing_pk
):
    client = api.as_user(outsider)

    private = client.post(DEPENDENCIES, {"release": secret.pk, "depends_on": own.pk})
    missing = client.post(DEPENDENCIES, {"release": missing_pk, "depends_on": own.pk})

    assert private.status_code == missing.status_code == 400
    assert without_pk(private.data["release"], secret.pk) == without_pk(
        missing.data["release"], missing_pk
    )
    assert not ReleaseDependency.objects.exists()


def test_the_cycle_refusal_does_not_name_a_private_release(
    api, manager, alice, own, secret, make_release
):
    public = make_release(name="Payments 9.1")
    services.dependency_create(actor=manager, release=public, depends_on=secret)
    services.dependency_create(actor=manager, release=secret, depends_on=own)

    response = api.as_user(alice).post(DEPENDENCIES, {"release": own.pk, "depends_on": public.pk})

    assert response.status_code == 400
    message = response.data["depends_on"][0]
    assert secret.name not in message
    assert HIDDEN in message
    assert public.name in message
    assert ReleaseDependency.objects.count() == 2


def test_the_cycle_refusal_still_names_every_release_for_a_release_manager(
    api, manager, own, secret, make_release
):
    public = make_release(name="Payments 9.1")
    services.dependency_create(actor=manager, release=public, depends_on=secret)
    services.dependency_create(actor=manager, release=secret, depends_on=own)

    response = api.as_user(manager).post(DEPENDENCIES, {"release": own.pk, "depends_on": public.pk})

    assert response.status_code == 400
    assert secret.name in response.data["depends_on"][0]


def test_the_service_refuses_a_private_release_without_naming_it(manager, alice, own, secret):
    services.dependency_create(actor=manager, release=own, depends_on=secret)

    with pytest.raises(ValidationError) as refused:
        services.dependency_create(actor=alice, release=own, depends_on=secret)

    assert "depends_on" in refused.value.message_dict
    assert secret.name not in str(refused.value)
    assert ReleaseDependency.objects.count() == 1


def test_the_release_page_offers_only_visible_unshipped_releases(
    client, alice, own, secret, make_release, search
):
    public = make_release(name="Search 3.0", team=search)
    shipped = make_release(name="Search 2.0", team=search)
    type(shipped).objects.filter(pk=shipped.pk).update(state=ReleaseState.RELEASED)
    client.force_login(alice)

    page = client.get(reverse("releases:detail", args=[own.pk])).content.decode()

    assert public.name in page
    assert secret.name not in page
    assert shipped.name not in page


def test_the_release_page_refuses_a_private_release_like_an_unknown_one(client, alice, own, secret):
    client.force_login(alice)

    response = client.post(
        reverse("releases:dependency-add", args=[own.pk]),
        {"kind": "needs", "depends_on": secret.pk, "note": ""},
        follow=True,
    )

    assert response.redirect_chain, "a refusal redirects to the release page"
    assert "Select a valid choice" in response.content.decode()
    assert secret.name not in response.content.decode()
    assert not ReleaseDependency.objects.exists()


@pytest.mark.parametrize("url", [MILESTONES, SCOPE], ids=["milestones", "scope-items"])
@pytest.mark.parametrize("persona", ["outsider", "alice"])
def test_a_private_release_answers_like_a_missing_one(
    request, api, url, persona, secret, missing_pk
):
    client = api.as_user(request.getfixturevalue(persona))
    body = {"kind": "custom", "title": "Probe", "date": "2030-01-01"}

    private = client.post(url, {**body, "release": secret.pk})
    missing = client.post(url, {**body, "release": missing_pk})

    assert private.status_code == missing.status_code == 400
    assert without_pk(private.data["release"], secret.pk) == without_pk(
        missing.data["release"], missing_pk
    )
    assert not secret.milestones.exists()
    assert not secret.scope_items.exists()
