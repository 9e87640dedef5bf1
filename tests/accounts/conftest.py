"""Company sign-in fixtures: Relcal pointed at the real test provider (see tests/accounts/sso.py)
and people at it."""

from __future__ import annotations

import pytest

from accounts import oidc as relcal_oidc
from tests.approvals.conftest import frozen, planned, priya  # noqa: F401  (fixtures)

from .sso import Person, configure, identity_of, relative  # noqa: F401  (used by the tests)


@pytest.fixture
def sso(oidc, settings, payments):
    """Relcal configured for the test provider, with ROLE_MAP; yields the provider."""
    configure(settings, oidc)
    yield oidc
    relcal_oidc.forget_metadata()


@pytest.fixture
def person(client, sso):
    """``person(login, password="pw-…", groups=[...], **claims)``: an account at the provider
    and a browser for it."""

    def make(login: str, *, password: str | None = None, groups=(), **claims) -> Person:
        password = password or f"pw-{login}"
        sso.set_account(login, password=password, groups=groups, **claims)
        return Person(client, sso, login, password)

    return make
