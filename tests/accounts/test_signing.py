"""Electronic signatures by people who sign in through the provider: the admin's sign-off page
and the API's signing ticket re-authenticate at the provider (prompt=login, max_age=0) and sign
only when the signer came back freshly authenticated as themselves."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import SigningTicket
from accounts.signatures import STASH
from approvals.models import AuditEvent, SignOff
from tests.conftest import PASSWORD
from tests.oidc_provider import SignInRefused

from .conftest import identity_of, relative


@pytest.fixture
def pia(person):
    """A product approver who signs in through the provider (no Relcal password)."""
    pia = person("pia-sub", name="Pia Product", groups=["relcal-product"])
    assert pia.sign_in().status_code == 302
    return pia


def sign_page(release) -> str:
    return reverse("admin:approvals_signoff_sign", args=[release.pk])


def post_signoff(pia, release, **data):
    page = pia.client.get(sign_page(release))
    assert page.status_code == 200
    fields = {
        "role": "product",
        "decision": "approve",
        "meaning": "approved_for_release",
        "comment": "Looks right",
        "fingerprint": page.context["form"].initial["fingerprint"],
        **data,
    }
    return pia.client.post(sign_page(release), fields)


def test_the_sign_off_page_asks_the_provider_instead_of_a_password(pia, frozen):
    release = frozen()
    page = pia.client.get(sign_page(release)).content.decode()
    assert 'type="password"' not in page
    assert "Acme SSO asks for your password again" in page


def test_a_sign_off_re_authenticates_at_the_provider_then_signs(pia, frozen):
    release = frozen()
    response = post_signoff(pia, release)
    # Nothing is signed before the provider confirmed the signer.
    assert response.status_code == 302 and not SignOff.objects.exists()
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]

    # The provider session from sign-in exists, yet the password form is shown again.
    back = pia.provider.sign_in(
        response["Location"], login="pia-sub", password=pia.password, session=pia.browser
    )
    assert back.form_shown
    to_form = pia.client.get(relative(back.url))
    assert to_form["Location"].startswith(sign_page(release) + "?signature=")
    done = pia.client.get(to_form["Location"])
    assert done.status_code == 302 and done["Location"].endswith("/pending/")

    signoff = SignOff.objects.get()
    assert (signoff.signer, signoff.role, signoff.comment) == (
        identity_of("pia-sub").user,
        "product",
        "Looks right",
    )
    event = AuditEvent.objects.get(action="signoff.create")
    assert event.after["authentication"]["method"] == "identity provider"
    ticket = SigningTicket.objects.get()
    assert ticket.used_at is not None and "sign-off" in ticket.used_for
    # A refresh of the return URL signs nothing more.
    assert pia.client.get(to_form["Location"]).status_code == 200
    assert SignOff.objects.count() == 1


def test_someone_else_at_the_provider_signs_nothing(pia, person, frozen):
    release = frozen()
    person("mallory", groups=[])
    response = post_signoff(pia, release)
    back = pia.provider.sign_in(
        response["Location"], login="mallory", password="pw-mallory", session=pia.browser
    )
    to_form = pia.client.get(relative(back.url))
    page = pia.client.get(to_form["Location"])
    assert page.status_code == 400
    assert "confirmed a different person" in page.content.decode()
    # The form keeps what was chosen, to sign again.
    assert "Looks right" in page.content.decode()
    assert not SignOff.objects.exists()
    refused = AuditEvent.objects.get(action="account.signature_refused")
    assert refused.after["subject"] == "mallory"


def test_a_stale_authentication_signs_nothing(pia, frozen):
    """A provider that ignored prompt=login reports the sign-in from before the signing
    began: the round trip is as if the signing had started after that sign-in."""
    release = frozen()
    response = post_signoff(pia, release)
    session = pia.client.session
    stash = session[STASH]
    for entry in stash.values():
        entry["started_at"] += 3600
    session[STASH] = stash
    session.save()
    back = pia.provider.sign_in(
        response["Location"], login="pia-sub", password=pia.password, session=pia.browser
    )
    page = pia.client.get(pia.client.get(relative(back.url))["Location"])
    assert "did not ask for your password again" in page.content.decode()
    assert not SignOff.objects.exists()
    assert AuditEvent.objects.filter(action="account.signature_refused").count() == 1


def test_a_wrong_password_at_the_provider_signs_nothing(pia, frozen):
    release = frozen()
    response = post_signoff(pia, release)
    with pytest.raises(SignInRefused):
        pia.provider.sign_in(
            response["Location"], login="pia-sub", password="guess", session=pia.browser
        )
    assert not SignOff.objects.exists()


def test_a_password_is_refused_from_a_provider_account(pia, frozen):
    release = frozen()
    api = APIClient()
    api.force_authenticate(identity_of("pia-sub").user)
    response = api.post(
        "/api/v1/signoffs/",
        {
            "release": release.pk,
            "role": "product",
            "decision": "approve",
            "meaning": "approved_for_release",
            "password": "anything",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "signing_ticket" in response.json()
    assert "Acme SSO" in response.json()["signing_ticket"][0]


# --- The API: a signing ticket from the round trip ----------------------------------------------


def get_ticket(pia) -> str:
    start = pia.client.post("/accounts/signing-ticket/")
    assert parse_qs(urlsplit(start["Location"]).query)["prompt"] == ["login"]
    back = pia.provider.sign_in(
        start["Location"], login="pia-sub", password=pia.password, session=pia.browser
    )
    page = pia.client.get(pia.client.get(relative(back.url))["Location"])
    assert page["Cache-Control"] == "no-store"
    return page.context["ticket"]


def api_signoff(user, release, **extra):
    api = APIClient()
    api.force_authenticate(user)
    return api.post(
        "/api/v1/signoffs/",
        {
            "release": release.pk,
            "role": "product",
            "decision": "approve",
            "meaning": "approved_for_release",
            **extra,
        },
        format="json",
    )


def test_the_api_signs_with_a_ticket_once(pia, frozen):
    release = frozen()
    ticket = get_ticket(pia)
    assert ticket
    user = identity_of("pia-sub").user
    assert api_signoff(user, release, signing_ticket=ticket).status_code == 201
    again = api_signoff(user, frozen(), signing_ticket=ticket)
    assert again.status_code == 400
    assert "already used" in again.json()["signing_ticket"][0]


def test_a_ticket_expires(pia, frozen):
    release = frozen()
    ticket = get_ticket(pia)
    SigningTicket.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_signoff(identity_of("pia-sub").user, release, signing_ticket=ticket)
    assert response.status_code == 400
    assert "expired" in response.json()["signing_ticket"][0]
    assert not SignOff.objects.exists()


def test_a_ticket_is_only_its_owners(pia, person, frozen, priya):
    release = frozen()
    ticket = get_ticket(pia)
    response = api_signoff(priya, release, signing_ticket=ticket)
    assert response.status_code == 400
    assert "not valid" in response.json()["signing_ticket"][0]
    # The refusal rolled back: the owner can still use it.
    assert SigningTicket.objects.get().used_at is None


def test_a_refused_signature_does_not_spend_the_ticket(pia, frozen):
    release = frozen()
    ticket = get_ticket(pia)
    user = identity_of("pia-sub").user
    # Not a legal approver: refused (403), and the ticket stays unspent.
    assert api_signoff(user, release, signing_ticket=ticket, role="legal").status_code == 403
    assert api_signoff(user, release, signing_ticket=ticket).status_code == 201


def test_the_ticket_page_for_a_password_user_says_to_use_the_password(client, sso, priya):
    client.force_login(priya)
    page = client.get("/accounts/signing-ticket/").content.decode()
    assert "You have a Relcal password" in page
    assert client.post("/accounts/signing-ticket/").status_code == 200  # no round trip


def test_the_ticket_page_needs_a_signed_in_user(sso):
    response = Client().get("/accounts/signing-ticket/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_password_signers_are_unchanged(frozen, priya, sso):
    response = api_signoff(priya, frozen(), password=PASSWORD)
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="signoff.create")
    assert event.after["authentication"] == {"method": "password"}
