"""Local passwords, as far as ``RELCAL_PASSWORD_LOGIN`` allows them: "all" (the demo,
break-glass administrators), "superusers" (only superusers log in with a password) or "off"
(company sign-in only). It checks the login form, the admin's login and HTTP basic auth alike,
because all of them go through ``authenticate``."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class PasswordBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        mode = settings.RELCAL_PASSWORD_LOGIN
        if mode == "off":
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and mode == "superusers" and not user.is_superuser:
            return None
        return user


class ProviderBackend(ModelBackend):
    """The backend recorded in sessions opened by company sign-in (``accounts.views``): it
    loads the user on each request like ModelBackend (inactive users are signed out) and
    authenticates no password."""

    def authenticate(self, request, **kwargs):
        return None
