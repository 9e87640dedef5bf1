"""The registry of reminder kinds: what each domain app declares in its ``<app>/reminders.py``.

Each app registers its kinds with ``register(...)``: a rule ``(now, since) -> iterable of
Reminder`` that finds what falls due in ``(since, now]`` with an index-backed range query, and a
``message`` that words it. Nothing else is per app. The modules are imported once, when the
reminders app is ready (``RemindersConfig.ready``), so a module may also connect signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.module_loading import autodiscover_modules

if TYPE_CHECKING:
    from .models import Delivery


@dataclass(frozen=True)
class Reminder:
    """One thing falling due: ``kind`` about ``obj`` at ``due``, for ``recipients`` (users) and
    the webhooks of the teams the kind's ``teams`` names for ``obj``."""

    kind: str
    obj: models.Model
    due: datetime
    recipients: tuple = ()


@dataclass(frozen=True)
class Message:
    subject: str
    lines: list[str]
    link: str  # a path on the site (``/releases/3/``) or a full URL
    action: str  # the link's label: "Sign off", "Extend the booking"…


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # what the preferences page shows: "A milestone is coming up"
    model: type[models.Model]
    rule: Callable[[datetime, datetime], Iterable[Reminder]]
    # Words it; ``delivery.recipient`` is None when the message goes to a team webhook.
    message: Callable[[models.Model, Delivery], Message]
    # Asked just before sending: False skips a reminder that no longer applies (the milestone
    # was done, the sign-off given) instead of nagging.
    still_due: Callable[[models.Model, Delivery], bool] | None = None
    # The ids of the teams whose webhooks hear of ``obj``; None: no webhook does.
    teams: Callable[[models.Model], Iterable[int]] | None = None
    # True when ``due`` only names the occasion (e.g. the sign-off that went stale) and the
    # reminder is due when the scan first finds it: lateness counts from the row's creation.
    due_when_found: bool = False


KINDS: dict[str, Kind] = {}


def register(
    name: str,
    *,
    label: str,
    model: type[models.Model],
    rule: Callable[[datetime, datetime], Iterable[Reminder]],
    message: Callable[[models.Model, Delivery], Message],
    still_due: Callable[[models.Model, Delivery], bool] | None = None,
    teams: Callable[[models.Model], Iterable[int]] | None = None,
    due_when_found: bool = False,
) -> None:
    KINDS[name] = Kind(name, label, model, rule, message, still_due, teams, due_when_found)


def autodiscover() -> None:
    """Import every installed app's ``reminders`` module (from ``RemindersConfig.ready``)."""
    autodiscover_modules("reminders")


def kinds() -> dict[str, Kind]:
    return KINDS


def object_type(model: type[models.Model] | models.Model) -> str:
    return model._meta.label_lower


def absolute(link: str) -> str:
    return link if "://" in link else f"{settings.SITE_URL}{link}"


def reachable(users: Iterable) -> tuple:
    """The users who can be emailed (active, with an address), each once; ``None`` entries
    (an unset manager) are dropped."""
    return tuple({u.pk: u for u in users if u is not None and u.is_active and u.email}.values())
