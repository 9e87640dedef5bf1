"""Company sign-in end to end in Chromium, against the real test provider: sign in from the
login page, sign off in the admin with the provider asking for the password again, and log out
of Relcal and the provider at once. Pages run under the Content-Security-Policy (form-action
allows the provider's origin)."""

from __future__ import annotations

import copy
import json
import re

import pytest

from accounts import oidc as relcal_oidc
from approvals.models import AuditEvent, SignOff
from tests.accounts.sso import ROLE_MAP
from tests.approvals.conftest import frozen, planned  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def release(request):
    """A release awaiting sign-off (the approvals fixture ``frozen``)."""
    return request.getfixturevalue("frozen")()


@pytest.fixture
def company(oidc, settings, live_server, payments):
    settings.RELCAL_OIDC_ISSUER = oidc.issuer
    settings.RELCAL_OIDC_CLIENT_ID = oidc.client_id
    settings.RELCAL_OIDC_CLIENT_SECRET = oidc.client_secret
    settings.RELCAL_OIDC_PROVIDER_NAME = "Acme SSO"
    settings.RELCAL_OIDC_ROLE_MAP = json.dumps(ROLE_MAP)
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], oidc.issuer]
    settings.CONTENT_SECURITY_POLICY = policy
    relcal_oidc.forget_metadata()
    oidc.add_redirect_uri(live_server.url + "/accounts/oidc/callback/")
    oidc.add_post_logout_redirect_uri(live_server.url + "/accounts/login/")
    oidc.set_account("pia", password="pia-secret", name="Pia Product", groups=["relcal-product"])
    yield oidc
    relcal_oidc.forget_metadata()


def provider_sign_in(page, login: str, password: str) -> None:
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_sign_off_with_re_authentication_and_log_out(company, open_page, release):
    page = open_page()

    page.goto("/releases/")
    page.get_by_role("button", name="Sign in with Acme SSO").click()
    provider_sign_in(page, "pia", "pia-secret")
    page.wait_for_url("**/releases/")
    assert page.get_by_text("Pia Product").first.is_visible()

    # The sign-off: the provider asks for the password again although its session is alive.
    page.goto(f"/admin/approvals/signoff/sign/{release.pk}/")
    page.get_by_label("Comment").fill("Checked the pricing copy")
    page.get_by_role("button", name="Sign (confirm with Acme SSO)").click()
    page.wait_for_url(re.compile(re.escape(company.issuer)))
    assert not SignOff.objects.exists()  # nothing signed before coming back
    provider_sign_in(page, "pia", "pia-secret")
    page.wait_for_url("**/admin/approvals/signoff/pending/")
    assert page.get_by_text(f"You approved {release.name} as Product").is_visible()
    signoff = SignOff.objects.get()
    assert signoff.comment == "Checked the pricing copy"
    assert AuditEvent.objects.get(action="signoff.create").after["authentication"]["method"] == (
        "identity provider"
    )

    # Log out here and at the provider: the next sign-in asks for the password.
    page.goto("/releases/")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url("**/accounts/login/**")
    page.get_by_role("button", name="Sign in with Acme SSO").click()
    assert page.get_by_label("Password").is_visible()


def test_someone_else_at_the_provider_cannot_sign_for_pia(company, open_page, release):
    company.set_account("mallory", password="mallory-secret", groups=[])
    page = open_page()
    page.goto("/releases/")
    page.get_by_role("button", name="Sign in with Acme SSO").click()
    provider_sign_in(page, "pia", "pia-secret")
    page.wait_for_url("**/releases/")

    page.goto(f"/admin/approvals/signoff/sign/{release.pk}/")
    page.get_by_role("button", name="Sign (confirm with Acme SSO)").click()
    provider_sign_in(page, "mallory", "mallory-secret")
    page.wait_for_url(re.compile(r"/admin/approvals/signoff/sign/\d+/\?signature="))
    assert page.get_by_text("confirmed a different person").is_visible()
    assert not SignOff.objects.exists()
