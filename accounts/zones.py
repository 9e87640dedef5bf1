"""Each person's time zone: where it is stored, how a page gets it without a query, and the one
write path that changes it.

The zone lives on :class:`~accounts.models.Preferences` (empty: not chosen yet, so the site's
``TIME_ZONE``). At sign-in it is copied into the session, and :class:`TimeZoneMiddleware` reads
it from there on every request, so showing a page in its reader's zone costs no query; a session
from before the zone existed reads the database once and keeps the answer. Pages, forms (Django
reads a form's naive times in the active zone) and the admin follow the activated zone. The API
and the feeds do not: their times carry offsets (``...Z`` in feeds), whoever reads them; nor do
the evidence pages, records that read the same (in UTC) whoever downloads them.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from datetime import tzinfo

from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from relcal import audit, times

from .models import Preferences

SESSION_KEY = "relcal_time_zone"
# Never in the reader's zone: the API (its times carry offsets, whoever asks) and the evidence
# pages (a record handed to auditors reads the same whoever downloaded it: UTC, named).
UNZONED_PREFIXES = ("/api/", "/evidence/")


names = times.time_zone_names


@functools.cache
def choices() -> tuple[str, ...]:
    return tuple(sorted(name for name in names() if "/" in name or name == "UTC"))


def get(name: str) -> tzinfo | None:
    """The zone called ``name``, or None for an empty or unknown name."""
    return zoneinfo.ZoneInfo(name) if name in names() else None


def stored(user) -> str:
    """``user``'s chosen zone name, "" when none is chosen (one query)."""
    found = Preferences.objects.filter(user=user).values_list("time_zone", flat=True).first()
    return found or ""


def of_user(user) -> tzinfo:
    """The zone ``user`` reads times in: theirs, or the site's default."""
    return get(stored(user)) or timezone.get_default_timezone()


@transaction.atomic
def time_zone_set(*, actor, user, time_zone: str, only_if_unset: bool = False) -> bool:
    """Set ``user``'s zone; True when it changed. ``only_if_unset`` (the browser's guess on a
    first visit) never overrides a zone the person already has."""
    if not getattr(actor, "is_authenticated", False) or actor.pk != user.pk:
        raise PermissionDenied("Only the person themselves changes their time zone.")
    name = (time_zone or "").strip()
    if name not in names():
        shown = name[:64].encode("ascii", "replace").decode()
        message = f"Unknown time zone “{shown}”: pick one from the list, e.g. Europe/Berlin."
        raise ValidationError({"time_zone": message})
    preferences, _ = Preferences.objects.select_for_update().get_or_create(user=user)
    before = preferences.time_zone
    if before == name or (only_if_unset and before):
        return False
    preferences.time_zone = name
    preferences.save(update_fields=["time_zone"])
    audit.record(
        actor=actor,
        action="preferences.update",
        obj=preferences,
        before={"time_zone": before},
        after={"time_zone": name},
    )
    return True


def remember(request: HttpRequest, name: str) -> None:
    """Keep ``name`` in the session: the next pages use it without asking the database."""
    request.session[SESSION_KEY] = name


@receiver(user_logged_in, dispatch_uid="accounts.zones.on_login")
def _on_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        remember(request, stored(user))


def session_zone(request: HttpRequest) -> str:
    """The reader's zone name from the session ("" for none, or for an anonymous reader)."""
    session = getattr(request, "session", None)
    if session is None or session.session_key is None:
        return ""  # no session cookie: nobody signed in, and nothing to read
    try:
        name = session[SESSION_KEY]
    except KeyError:
        # A session from before sign-in kept the zone: read it once, keep it.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return ""
        name = stored(user)
        remember(request, name)
    return name if name in names() else ""


class TimeZoneMiddleware:
    """Activate the reader's zone for the request (after the session and auth middleware).

    Sets ``request.time_zone_chosen``: False until the person (or their browser, on the first
    visit) picked a zone; the page then loads the script that records the browser's zone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(UNZONED_PREFIXES):
            request.time_zone_chosen = True
            return self.get_response(request)
        name = session_zone(request)
        request.time_zone_chosen = bool(name)
        if not name:
            return self.get_response(request)
        with timezone.override(zoneinfo.ZoneInfo(name)):
            return self.get_response(request)
