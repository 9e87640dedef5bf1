"""Pages of company sign-in: the login page, the round trip to the provider and back, logout
(here and at the provider), and the API's signing ticket."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import oidc, services, signatures

log = logging.getLogger(__name__)


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _callback_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("accounts:oidc-callback"))


class LoginView(auth_views.LoginView):
    """Django's login form, with "Sign in with <provider>" above it when company sign-in is
    configured, and the password form only where ``RELCAL_PASSWORD_LOGIN`` allows it."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            oidc_enabled=oidc.enabled(),
            oidc_provider_name=oidc.provider_name(),
            password_login=settings.RELCAL_PASSWORD_LOGIN,
            oidc_error=self.request.session.pop("relcal_oidc_error", ""),
        )
        return context


@require_POST
def oidc_login(request: HttpRequest) -> HttpResponse:
    """Start the authorization code flow (POST with the CSRF token: no one signs you in by a
    link)."""
    if not oidc.enabled():
        return redirect("login")
    next_url = _safe_next(request, request.POST.get("next"))
    try:
        url = oidc.authorization_redirect(
            request, _callback_uri(request), extra={"purpose": "signin", "next": next_url}
        )
    except oidc.ProviderError as error:
        return _signin_failed(request, str(error), status=503)
    return HttpResponseRedirect(url)


def _signin_failed(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(
        request,
        "accounts/signin_failed.html",
        {
            "message": message,
            "password_login": settings.RELCAL_PASSWORD_LOGIN != "off",
            "oidc_provider_name": oidc.provider_name(),
        },
        status=status,
    )


def oidc_callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the browser back here, after a sign-in or a signing round trip."""
    if not oidc.enabled():
        return redirect("login")
    try:
        returned = oidc.complete(request)
    except oidc.ProviderError as error:
        return _signin_failed(request, str(error), status=503)
    except oidc.TokenRefused as error:
        log.warning("OIDC callback refused: %s", error)
        return _signin_failed(request, str(error), status=400)
    purpose = returned.extra.get("purpose")
    if purpose == "sign":
        if not request.user.is_authenticated:
            return _signin_failed(request, "Sign in first, then sign again.", status=400)
        try:
            where = signatures.check_returned(request, returned.extra["key"], returned.claims)
        except oidc.TokenRefused as error:
            return _signin_failed(request, str(error), status=400)
        return HttpResponseRedirect(where)
    try:
        user = services.signin(claims=returned.claims)
    except services.SignInRefused as refused:
        return _signin_failed(request, str(refused), status=403)
    auth.login(request, user, backend="accounts.backends.ProviderBackend")
    request.session[oidc.SESSION_ID_TOKEN] = returned.id_token
    return HttpResponseRedirect(_safe_next(request, returned.extra.get("next")))


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the Relcal session, then the provider's too when it offers RP-initiated logout."""
    id_token = request.session.get(oidc.SESSION_ID_TOKEN)
    auth.logout(request)
    if id_token and oidc.enabled():
        back = request.build_absolute_uri(reverse("login"))
        url = oidc.logout_url(id_token, back)
        if url:
            return HttpResponseRedirect(url)
        messages.warning(
            request,
            f"You are signed out of Relcal. {oidc.provider_name()} could not be reached to end "
            "your session there: sign out there too on a shared computer.",
        )
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
def signing_ticket(request: HttpRequest) -> HttpResponse:
    """A signing ticket for the API (people who sign in through the provider): POST starts the
    re-authentication; the way back shows the ticket once."""
    provider = signatures.signs_with_provider(request.user)
    context = {
        "provider": provider,
        "oidc_provider_name": oidc.provider_name(),
        "ttl": settings.RELCAL_SIGNING_TICKET_SECONDS,
    }
    if request.method == "POST" and provider:
        try:
            return signatures.begin_ticket(request)
        except oidc.ProviderError as error:
            context["error"] = str(error)
            return render(request, "accounts/signing_ticket.html", context, status=503)
    returned = signatures.take_returned(request)
    if returned is not None:
        context["error"] = returned.error
        context["ticket"] = returned.ticket
    response = render(request, "accounts/signing_ticket.html", context)
    response["Cache-Control"] = "no-store"
    return response
