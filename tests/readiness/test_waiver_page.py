"""The waiver form on the release page, for the change advisory board."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import Waiver
from tests.conftest import PASSWORD

from .conftest import walk


@pytest.fixture
def failing(ready, check, manager):
    release = walk(ready(), manager, "approved")
    build = release.candidates.get()
    check(build, "integration-tests", "failed")
    return release, build


def post(client, user, build, **data):
    client.force_login(user)
    data.setdefault("gate", "checks")
    data.setdefault("reason", "Known flake, fixed in the next build")
    data.setdefault("password", PASSWORD)
    return client.post(reverse("readiness:waive", args=[build.pk]), data, follow=True)


def test_the_board_member_sees_the_form_on_a_failing_gate(client, failing, carol, alice):
    release, build = failing
    client.force_login(carol)
    page = client.get(release.get_absolute_url()).content.decode()
    assert f"Waive for {build.version}" in page
    client.force_login(alice)
    assert "Waive for" not in client.get(release.get_absolute_url()).content.decode()


def test_a_waiver_from_the_page_lets_the_gate_pass(client, failing, carol):
    release, build = failing
    response = post(client, carol, build)
    page = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"{release.get_absolute_url()}#readiness")
    assert f"You waived the gate “checks” for {build.version}, signed and recorded." in page
    assert "Waived" in page
    assert Waiver.objects.get().signer == carol


def test_a_wrong_password_records_nothing_and_says_so(client, failing, carol):
    _, build = failing
    page = post(client, carol, build, password="nope").content.decode()
    assert "No waiver was recorded: Wrong password" in page
    assert Waiver.objects.count() == 0


def test_others_may_not_waive(client, failing, manager):
    _, build = failing
    client.force_login(manager)
    response = client.post(
        reverse("readiness:waive", args=[build.pk]),
        {"gate": "checks", "reason": "x", "password": PASSWORD},
    )
    assert response.status_code == 403
    assert Waiver.objects.count() == 0


def test_the_form_only_posts(client, failing, carol):
    _, build = failing
    client.force_login(carol)
    # A GET is only the way back from the identity provider's re-authentication: without it,
    # nothing is recorded and the browser goes back to the release.
    response = client.get(reverse("readiness:waive", args=[build.pk]))
    assert response.status_code == 302 and response["Location"].endswith("#readiness")
    assert not Waiver.objects.exists()
