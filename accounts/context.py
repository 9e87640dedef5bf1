"""Template context: whether the reader signs through the company's provider (no query: it is
the account having no Relcal password) and what the provider is called."""

from __future__ import annotations

from django.http import HttpRequest

from . import oidc, signatures


def company_signin(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "signs_with_provider": user is not None and signatures.signs_with_provider(user),
        "oidc_provider_name": oidc.provider_name(),
    }
