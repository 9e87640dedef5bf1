"""Password guessing stopped: failures counted per account and per client address, then a
lockout for a while (django-axes does the counting, in its database tables).

Axes watches every login through Django's ``authenticate`` (the login form and the admin's).
The password re-entered to sign (sign-offs, waivers, SRE overrides) is not a login, so the
services that check it are wrapped in :func:`password_reentry`: the same counters, the same
lockout. The wrapper sits *outside* the service's transaction, because a wrong password ends
that transaction in a rollback that would otherwise take the counted failure with it.

Settings: ``RELCAL_LOCKOUT_FAILURES`` failures (default 10) lock the account and the client
address for ``RELCAL_LOCKOUT_MINUTES`` (default 15) after the last failure. The client address
is ``REMOTE_ADDR``, or the header named by ``AUDIT_CLIENT_ADDRESS_HEADER`` (behind a proxy).
Every lockout and every unlock by an administrator is an audit event.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from relcal import audit
from relcal.middleware import client_address

WRONG_PASSWORD = "Wrong password: re-enter your own password to sign."


class WrongPassword(ValidationError):
    """A re-entered password did not match: raised by the services, counted by the wrapper."""

    def __init__(self) -> None:
        super().__init__({"password": WRONG_PASSWORD})


class Locked(ValidationError):
    """Too many failures: the account (or the client address) is locked until ``until``.
    Pages show it under the password field; the API answers 429 with ``Retry-After``."""

    def __init__(self, until: datetime) -> None:
        self.until = until
        self.message_text = locked_message(until)
        super().__init__({"password": self.message_text})

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds()))


def locked_message(until: datetime) -> str:
    return (
        "Too many wrong passwords: this account is locked until about "
        f"{until.astimezone(UTC).strftime('%H:%M UTC')}. "
        "Try again then, or ask an administrator to unlock it."
    )


def client_ip(request: HttpRequest) -> str | None:
    """The address failures are counted against (axes' ``AXES_CLIENT_IP_CALLABLE``): the same
    one the audit trail records, so a header counts only when a setting names it."""
    return client_address(request) or None


def locked_until(username: str | None, ip_address: str | None) -> datetime:
    """Roughly when a lockout ends: the cool-off after the last failure counted against the
    account or the address."""
    counted = Q(pk__in=[])
    if username:
        counted |= Q(username=username)
    if ip_address:
        counted |= Q(ip_address=ip_address)
    last = AccessAttempt.objects.filter(counted).aggregate(last=Max("attempt_time"))["last"]
    return (last or timezone.now()) + (get_cool_off() or timedelta(0))


class LockoutBackend(AxesStandaloneBackend):
    """Axes' backend, first in ``AUTHENTICATION_BACKENDS``: it refuses a locked-out login before
    the password is even checked. ``authenticate`` without a request (a management command, the
    test client's ``login``) comes from no client to count, so it is let through."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """The login form's (and the admin login's) answer to a locked-out attempt."""
    username = (credentials or {}).get("username") or ""
    until = locked_until(username, getattr(request, "axes_ip_address", None))
    response = render(
        request,
        "registration/locked.html",
        {"until": until, "message": locked_message(until)},
        status=429,
    )
    response["Retry-After"] = str(Locked(until).retry_after)
    return response


def _http_request(request: Any) -> HttpRequest:
    # DRF wraps the request; axes notes its findings on the Django one. Outside a request (a
    # shell), a bare one: failures then count against the account only.
    if request is None:
        return HttpRequest()
    return getattr(request, "_request", request)


def password_reentry(service: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a service that checks a re-entered password (it raises :class:`WrongPassword`).

    The wrapped service takes an extra keyword ``request`` (None outside a request). A locked
    account or address is refused with :class:`Locked` before the service runs; a wrong
    password is counted as a failed login of ``actor``, and the failure that reaches the limit
    answers :class:`Locked` instead.
    """

    @functools.wraps(service)
    def wrapper(*, request: Any = None, **kwargs: Any) -> Any:
        http = _http_request(request)
        credentials = {"username": kwargs["actor"].get_username()}
        if not AxesProxyHandler.is_allowed(http, credentials):
            raise Locked(locked_until(credentials["username"], http.axes_ip_address))
        try:
            return service(**kwargs)
        except WrongPassword:
            user_login_failed.send(sender=__name__, credentials=credentials, request=http)
            if http.axes_locked_out:
                # Answered here (a form error, or 429 from the API), not by axes' middleware.
                http.axes_locked_out = False
                raise Locked(locked_until(credentials["username"], http.axes_ip_address)) from None
            raise

    return wrapper


# --- Audit: an event per lockout, one per unlock ----------------------------------------------


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """axes' ``user_locked_out``: it fires on every refused attempt while locked; the event is
    recorded once, by the failure that reaches the limit."""
    if request is not None:
        failures = getattr(request, "axes_failures_since_start", None)
        if failures is not None and failures != get_failure_limit(request, None):
            return
    with transaction.atomic():
        audit.record(
            actor=None,
            action="account.lock",
            object_type="account",
            object_id=username or "",
            object_repr=f"{username or 'unknown account'} from {ip_address or 'unknown address'}",
            after={"username": username, "ip_address": ip_address},
        )


@transaction.atomic
def attempts_unlock(*, actor, attempts) -> int:
    """An administrator lifts lockouts: forget the failures in ``attempts`` (AccessAttempt
    rows), one audit event each."""
    if not (getattr(actor, "is_superuser", False) or actor.has_perm("axes.delete_accessattempt")):
        raise ValidationError("Only an administrator unlocks accounts.")
    count = 0
    for attempt in attempts.select_for_update():
        audit.record(
            actor=actor,
            action="account.unlock",
            object_type="account",
            object_id=attempt.username or "",
            object_repr=f"{attempt.username or 'unknown account'} from "
            f"{attempt.ip_address or 'unknown address'}",
            before={
                "username": attempt.username,
                "ip_address": attempt.ip_address,
                "failures": attempt.failures_since_start,
            },
        )
        attempt.delete()
        count += 1
    return count


class LockoutAttemptAdmin(AccessAttemptAdmin):
    """axes' list of failed attempts, with an audited "Unlock" action in place of a plain
    delete (which would lift a lockout with no trace)."""

    actions = ["unlock"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_unlock_permission(self, request) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(description="Unlock: forget these failures (audited)", permissions=["unlock"])
    def unlock(self, request, queryset) -> None:
        count = attempts_unlock(actor=request.user, attempts=queryset)
        self.message_user(request, f"Unlocked {count} lockout(s).", messages.SUCCESS)


def install_admin(site) -> None:
    """Put ``LockoutAttemptAdmin`` in place of axes' own admin of the attempts."""
    if site.is_registered(AccessAttempt):
        site.unregister(AccessAttempt)
    site.register(AccessAttempt, LockoutAttemptAdmin)
