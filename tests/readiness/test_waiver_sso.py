"""A change advisory board member who signs in through the company's provider waives a gate
from the release page: the provider asks for the password again, the waiver is recorded when
they come back, and nothing is recorded when someone else signs in there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import oidc as relcal_oidc
from approvals.models import AuditEvent, Waiver
from tests.accounts.sso import Person, configure, relative

from .conftest import walk


@pytest.fixture
def failing(ready, check, manager):
    release = walk(ready(), manager, "approved")
    build = release.candidates.get()
    check(build, "integration-tests", "failed")
    return release, build


@pytest.fixture
def cora(client, oidc, settings, payments):
    """A board member at the provider, signed in to Relcal through it."""
    configure(settings, oidc)
    oidc.set_account("cora", password="pw-cora", groups=["relcal-cab"])
    cora = Person(client, oidc, "cora", "pw-cora")
    cora.sign_in()
    yield cora
    relcal_oidc.forget_metadata()


def test_the_waiver_form_asks_the_provider_not_a_password(cora, failing):
    release, _ = failing
    page = cora.client.get(release.get_absolute_url()).content.decode()
    assert "Waive for" in page
    assert "Acme SSO asks for your password again" in page
    assert 'name="password"' not in page


def test_a_waiver_is_recorded_after_the_provider_confirmed_the_signer(cora, failing):
    release, build = failing
    start = cora.client.post(
        reverse("readiness:waive", args=[build.pk]),
        {"gate": "checks", "reason": "Known flake, fixed in the next build"},
    )
    assert start.status_code == 302 and not Waiver.objects.exists()
    back_to_form = cora.to_provider_and_back(start["Location"])
    done = cora.client.get(back_to_form["Location"], follow=True)
    page = done.content.decode()
    assert done.redirect_chain[-1][0].endswith(f"{release.get_absolute_url()}#readiness")
    assert f"You waived the gate “checks” for {build.version}, signed and recorded." in page
    waiver = Waiver.objects.get()
    assert waiver.signer.identity.subject == "cora"
    event = AuditEvent.objects.get(action="waiver.record")
    assert event.after["authentication"]["method"] == "identity provider"


def test_someone_else_at_the_provider_records_no_waiver(cora, failing, oidc):
    _, build = failing
    oidc.set_account("mallory", password="pw-mallory", groups=[])
    start = cora.client.post(
        reverse("readiness:waive", args=[build.pk]),
        {"gate": "checks", "reason": "Known flake"},
    )
    back = oidc.sign_in(
        start["Location"], login="mallory", password="pw-mallory", session=cora.browser
    )
    to_form = cora.client.get(relative(back.url))
    page = cora.client.get(to_form["Location"], follow=True).content.decode()
    assert "No waiver was recorded" in page and "a different person" in page
    assert not Waiver.objects.exists()
