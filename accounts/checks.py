"""``manage.py check``: a company sign-in configuration that cannot work is reported at start."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import services


@checks.register(checks.Tags.security)
def oidc_settings(app_configs=None, **kwargs):
    errors = []
    try:
        services.role_map()
    except ImproperlyConfigured as exc:
        errors.append(checks.Error(str(exc), id="accounts.E001"))
    issuer = settings.RELCAL_OIDC_ISSUER
    if issuer:
        if not settings.RELCAL_OIDC_CLIENT_ID:
            errors.append(
                checks.Error(
                    "RELCAL_OIDC_ISSUER is set but RELCAL_OIDC_CLIENT_ID is not.",
                    id="accounts.E002",
                )
            )
        if not issuer.startswith("https://") and not settings.DEBUG:
            errors.append(
                checks.Warning(
                    "RELCAL_OIDC_ISSUER is not https: tokens would cross the network in clear.",
                    id="accounts.W001",
                )
            )
    elif settings.RELCAL_PASSWORD_LOGIN != "all":
        errors.append(
            checks.Error(
                f"RELCAL_PASSWORD_LOGIN={settings.RELCAL_PASSWORD_LOGIN} without company sign-in "
                "(RELCAL_OIDC_ISSUER) would lock almost everyone out.",
                id="accounts.E003",
            )
        )
    return errors
