"""Electronic signatures: the second look at who is signing, by password or by the provider.

A sign-off, a waiver or an SRE override is an electronic signature: the signer proves who they
are again at the moment of signing (21 CFR 11.200(a): two components, the user id and the
password, or a re-authentication). People with a Relcal password re-enter it. People who sign
in through the company's provider have no Relcal password: Relcal sends them to the provider
with ``prompt=login`` and ``max_age=0`` and accepts the signature only when the returned ID
token's ``auth_time`` is not before the second the signing started and its ``sub`` is the
signer's own. The round trip ends in a :class:`~accounts.models.SigningTicket`, spent by the
signature (once, within ``RELCAL_SIGNING_TICKET_SECONDS``). Pages keep the form's content in
the session across the round trip and sign only when the user is back; the API takes the
ticket from the "Signing ticket" page in ``signing_ticket``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from relcal import lockout

from . import oidc, services

STASH = "relcal_signing"
STASH_SECONDS = 15 * 60


@dataclass(frozen=True)
class Signature:
    """How the signer was identified at signing, for the audit event."""

    method: str  # "password" or "identity provider"
    auth_time: datetime | None = None

    def as_audit(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method}
        if self.auth_time is not None:
            out["auth_time"] = self.auth_time.astimezone(UTC).isoformat()
        return out


def signs_with_provider(user) -> bool:
    """Accounts without a Relcal password (made or linked by company sign-in) sign through the
    provider; everyone else with their password."""
    return (
        oidc.enabled()
        and bool(getattr(user, "is_authenticated", False))
        and not (user.has_usable_password())
    )


def verify(actor, *, password: str = "", signing_ticket: str = "", used_for: str = "") -> Signature:
    """Check the signer's second component, inside the signing transaction. A wrong password
    raises :class:`relcal.lockout.WrongPassword` (counted by ``password_reentry``); a bad
    ticket or a password from a provider account a ValidationError naming the field."""
    if signing_ticket:
        row = services.ticket_use(user=actor, ticket=signing_ticket, used_for=used_for)
        return Signature("identity provider", row.auth_time)
    if signs_with_provider(actor):
        raise ValidationError(
            {
                "signing_ticket": f"You sign in through {oidc.provider_name()}, so you sign "
                f"by signing in to {oidc.provider_name()} again: on the page, or in the API with "
                "a signing_ticket from /accounts/signing-ticket/."
            }
        )
    if not password or not actor.check_password(password):
        raise lockout.WrongPassword
    return Signature("password")


# --- The round trip for forms on pages -----------------------------------------------------------


def _stash(request: HttpRequest) -> dict[str, Any]:
    now = time.time()
    stash = {
        key: entry
        for key, entry in request.session.get(STASH, {}).items()
        if now - entry.get("started_at", 0) < STASH_SECONDS
    }
    request.session[STASH] = stash
    return stash


def begin(request: HttpRequest, *, data: dict[str, Any], return_to: str) -> HttpResponseRedirect:
    """Keep ``data`` (the form's fields) and send the browser to the provider to sign in again.
    Nothing is signed now; the provider sends the browser to the callback, which issues a
    ticket and returns to ``return_to?signature=<key>``. Raises ``oidc.ProviderError``."""
    key = secrets.token_urlsafe(16)
    stash = _stash(request)
    stash[key] = {
        "data": {k: v for k, v in data.items() if k not in {"csrfmiddlewaretoken", "password"}},
        "return_to": return_to,
        "started_at": int(time.time()),
        "user": request.user.pk,
    }
    request.session[STASH] = stash
    url = oidc.authorization_redirect(
        request,
        request.build_absolute_uri(reverse("accounts:oidc-callback")),
        extra={"purpose": "sign", "key": key},
        prompt="login",
        max_age=0,
    )
    return HttpResponseRedirect(url)


def begin_ticket(request: HttpRequest) -> HttpResponseRedirect:
    """The round trip for an API signing ticket (the "Signing ticket" page)."""
    return begin(request, data={}, return_to=reverse("accounts:signing-ticket"))


def check_returned(request: HttpRequest, key: str, claims: dict[str, Any]) -> str:
    """The callback's half: the provider confirmed someone; if it is the signer, freshly
    authenticated, issue a ticket for the waiting form. Returns where to send the browser."""
    stash = _stash(request)
    entry = stash.get(key)
    if entry is None or entry.get("user") != request.user.pk:
        raise oidc.TokenRefused(
            "This signature was started too long ago or in another session. Sign again."
        )
    identity = getattr(request.user, "identity", None)
    auth_time = claims.get("auth_time")
    problem = None
    if identity is None or claims.get("sub") != identity.subject:
        problem = (
            f"{oidc.provider_name()} confirmed a different person than {request.user}: "
            "sign in to the provider as yourself to sign."
        )
    elif not isinstance(auth_time, (int, float)):
        problem = (
            f"{oidc.provider_name()} did not say when you signed in (no auth_time claim), so "
            "Relcal cannot tell that it asked for your password again. Nothing was signed; an "
            "administrator must have the provider include auth_time in the ID token."
        )
    elif auth_time < entry["started_at"]:
        problem = (
            f"{oidc.provider_name()} did not ask for your password again (the sign-in it "
            "reported is older than this signature). Nothing was signed; an administrator "
            "must let the provider honour prompt=login and max_age=0."
        )
    if problem:
        services.signature_refused(
            user=request.user, claims=claims, reason=problem, started_at=entry["started_at"]
        )
        entry["error"] = problem
    else:
        ticket, _ = services.ticket_issue(
            user=request.user, auth_time=datetime.fromtimestamp(auth_time, UTC)
        )
        entry["ticket"] = ticket
    request.session[STASH] = stash
    separator = "&" if "?" in entry["return_to"] else "?"
    return f"{entry['return_to']}{separator}signature={key}"


@dataclass(frozen=True)
class Returned:
    data: dict[str, Any]
    ticket: str
    error: str


def take_returned(request: HttpRequest) -> Returned | None:
    """The form's content and ticket after the round trip (once: a refresh signs nothing)."""
    key = request.GET.get("signature")
    if not key:
        return None
    stash = _stash(request)
    entry = stash.pop(key, None)
    request.session[STASH] = stash
    if entry is None or entry.get("user") != request.user.pk:
        return Returned({}, "", "This signature was already used or has expired. Sign again.")
    return Returned(entry["data"], entry.get("ticket", ""), entry.get("error", ""))


def panel_form(request: HttpRequest, form_class, *, back: HttpResponse, refused: str):
    """A signature form on a page that answers by post/redirect/get (the waiver and override
    panels): the keyword arguments to sign with now (the form's fields, and the signing ticket
    after the provider's round trip), or the response to give instead (back to the page with a
    message starting with ``refused``, or on to the provider). GET is only the way back from the
    provider. ``form_class`` takes ``provider=True`` to leave its password field out."""
    provider = signs_with_provider(request.user)
    returned = take_returned(request) if request.method == "GET" else None
    if request.method == "GET" and returned is None:
        return back
    if returned is not None and returned.error:
        messages.error(request, f"{refused}: {returned.error}")
        return back
    form = form_class(returned.data if returned else request.POST, provider=provider)
    if not form.is_valid():
        needs = "a reason" if provider else "a reason and your password"
        messages.error(request, f"{refused}: give {needs}.")
        return back
    if returned is None and provider:
        try:  # nothing is signed before the provider confirmed the signer
            return begin(request, data=form.cleaned_data, return_to=request.path)
        except oidc.ProviderError as error:
            messages.error(request, f"{refused}: {error}")
            return back
    return {**form.cleaned_data, "signing_ticket": returned.ticket if returned else ""}
