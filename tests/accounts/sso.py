"""Company sign-in in tests, for any folder: ``configure(settings, oidc)`` points Relcal at the
real test provider (the ``oidc`` fixture of tests/oidc_provider.py) with ``ROLE_MAP``;
:class:`Person` walks the round trip with Django's test client on Relcal's side and ``requests``
on the provider's side (the provider's cookies stay in one ``requests`` session, as in one
browser)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import requests

from accounts import oidc as relcal_oidc
from accounts.models import Identity

CALLBACK = "http://testserver/accounts/oidc/callback/"
LOGIN_PAGE = "http://testserver/accounts/login/"
ROLE_MAP = {
    "relcal-release-managers": ["group:Release managers", "staff"],
    "relcal-product": ["group:Product approvers", "staff"],
    "relcal-cab": ["group:Change advisory board"],
    "payments-devs": ["team:payments"],
}


def configure(settings, oidc) -> None:
    settings.RELCAL_OIDC_ISSUER = oidc.issuer
    settings.RELCAL_OIDC_CLIENT_ID = oidc.client_id
    settings.RELCAL_OIDC_CLIENT_SECRET = oidc.client_secret
    settings.RELCAL_OIDC_PROVIDER_NAME = "Acme SSO"
    settings.RELCAL_OIDC_ROLE_MAP = json.dumps(ROLE_MAP)
    relcal_oidc.forget_metadata()
    oidc.add_redirect_uri(CALLBACK)
    oidc.add_post_logout_redirect_uri(LOGIN_PAGE)


def relative(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Person:
    """One person at one browser: Relcal's test client plus the provider's cookies."""

    def __init__(self, client, provider, login: str, password: str) -> None:
        self.client = client
        self.provider = provider
        self.login = login
        self.password = password
        self.browser = requests.Session()

    def to_provider_and_back(self, authorize_url: str, *, login=None, password=None):
        """Sign in at the provider (the form only if it asks) and open Relcal's callback."""
        back = self.provider.sign_in(
            authorize_url,
            login=login or self.login,
            password=password or self.password,
            session=self.browser,
        )
        assert back.url.startswith(CALLBACK), back.url
        return self.client.get(relative(back.url))

    def sign_in(self, next_url: str = ""):
        start = self.client.post("/accounts/oidc/login/", {"next": next_url})
        assert start.status_code == 302, start.content.decode()[:500]
        return self.to_provider_and_back(start["Location"])


def identity_of(login: str) -> Identity:
    return Identity.objects.select_related("user").get(subject=login)
