"""Approvers and private teams (issue 15, finding 7): an approver sees a private team's release
only while it awaits their role's sign-off, and after that only the sign-offs they gave.

A release the reader may not see answers exactly as a missing one (404), so ids cannot be
probed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import SignOff
from releases.models import Team
from tests.approvals.conftest import walk
from tests.conftest import PASSWORD

SIGNOFFS = "/api/v1/signoffs/"


def status_url(release) -> str:
    return f"/api/v1/approval-status/{release.pk}/"


@pytest.fixture
def mobile(db) -> Team:
    return Team.objects.create(name="Mobile", slug="mobile", color="#1971c2", is_private=True)


@pytest.fixture
def private_planned(planned, mobile):
    return planned(team=mobile, name="Mobile Secret 9.0")


@pytest.fixture
def private_frozen(frozen, mobile):
    return frozen(team=mobile, name="Mobile Secret 9.0")


def test_an_approver_cannot_read_a_private_planned_release(api, priya, private_planned):
    response = api.as_user(priya).get(status_url(private_planned))
    assert response.status_code == 404
    assert "Secret" not in str(response.data)


def test_an_invisible_release_answers_like_a_missing_one(api, leo, private_planned):
    client = api.as_user(leo)
    hidden = client.get(status_url(private_planned))
    missing = client.get(f"/api/v1/approval-status/{private_planned.pk + 1000}/")
    assert (hidden.status_code, hidden.data) == (missing.status_code, missing.data)


def test_an_approver_reads_a_private_release_that_awaits_their_role(api, priya, private_frozen):
    response = api.as_user(priya).get(status_url(private_frozen))
    assert response.status_code == 200
    assert response.data["snapshot"]["team"] == "mobile"


def test_an_approver_loses_the_private_release_once_it_moved_on(
    api, priya, private_frozen, sign_all, manager
):
    sign_all(private_frozen)
    walk(private_frozen, manager, "testing", "approved")
    client = api.as_user(priya)
    assert client.get(status_url(private_frozen)).status_code == 404
    # What remains: the sign-off she gave.
    mine = client.get(SIGNOFFS).data["results"]
    assert [(row["release"], row["role"]) for row in mine] == [(private_frozen.pk, "product")]


def test_public_releases_stay_readable_by_approvers(api, priya, planned):
    release = planned()
    assert api.as_user(priya).get(status_url(release)).status_code == 200


@pytest.mark.parametrize("who", ["manager", "quinn", "member"])
def test_the_team_auditors_and_release_managers_still_read_it(
    api, private_planned, mobile, manager, quinn, bob, who
):
    mobile.members.add(bob)
    user = {"manager": manager, "quinn": quinn, "member": bob}[who]
    assert api.as_user(user).get(status_url(private_planned)).status_code == 200


def test_the_outsider_gets_404_on_a_private_release(api, outsider, private_frozen):
    assert api.as_user(outsider).get(status_url(private_frozen)).status_code == 404


def test_signing_a_private_planned_release_does_not_name_it(api, priya, private_planned):
    body = {
        "release": private_planned.pk,
        "role": "product",
        "decision": "approve",
        "meaning": "approved_for_release",
        "password": PASSWORD,
    }
    client = api.as_user(priya)
    hidden = client.post(SIGNOFFS, body)
    missing = client.post(SIGNOFFS, {**body, "release": private_planned.pk + 1000})
    assert hidden.status_code == 400
    assert "Secret" not in str(hidden.data)
    assert str(hidden.data["release"]).replace(str(private_planned.pk), "ID") == str(
        missing.data["release"]
    ).replace(str(private_planned.pk + 1000), "ID")
    assert SignOff.objects.count() == 0


def test_the_admin_sign_page_of_a_private_release_that_moved_on_is_404(
    client, priya, private_frozen, sign_all, manager
):
    sign_all(private_frozen)
    walk(private_frozen, manager, "testing", "approved")
    client.force_login(priya)
    response = client.get(reverse("admin:approvals_signoff_sign", args=[private_frozen.pk]))
    assert response.status_code == 404
    assert b"Secret" not in response.content


def test_the_admin_sign_page_of_a_private_release_awaiting_her_works(client, priya, private_frozen):
    client.force_login(priya)
    response = client.get(reverse("admin:approvals_signoff_sign", args=[private_frozen.pk]))
    assert response.status_code == 200
    assert b"Mobile Secret 9.0" in response.content
