"""Reminder delivery, shared by every app: the registry of reminder kinds, the scan that turns
due reminders into ``Delivery`` rows, and delivery itself (claim, send, retry, skip).

Each app declares its reminders in ``<app>/reminders.py`` with ``register(...)``: a rule
``(now, since) -> iterable of Reminder`` that finds what falls due in ``(since, now]`` with an
index-backed range query, and a ``message`` that words it. Nothing else is per app.

Exactly once (DESIGN.md invariant 6):

- at most once: a reminder's key (kind, object, recipient, due) is unique in ``Delivery``, so
  scans that run twice, late or concurrently create one row; a worker sends only a row it
  claimed with a conditional update ``pending → sending``, so two workers never both send it;
- at least once: a pending row is re-enqueued by every scan until a worker takes it, and a claim
  older than the claim timeout (a worker killed mid-send) goes back to pending. The one window
  left is a worker killed after the mail server accepted the mail and before the row says
  ``sent``: that mail goes out again, which beats losing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from .models import Delivery, DeliveryState

logger = logging.getLogger(__name__)
State = DeliveryState


# --- Settings (defaults here so that the settings module only overrides) ------------------------


def stale_after() -> timedelta:
    """Reminders due longer ago than this are skipped: after an outage, no wave of old news."""
    return timedelta(seconds=getattr(settings, "RELCAL_REMINDER_STALE_AFTER", 6 * 3600))


def claim_timeout() -> timedelta:
    """A claim older than this belongs to a worker that died; the row is tried again."""
    return timedelta(seconds=getattr(settings, "RELCAL_REMINDER_CLAIM_TIMEOUT", 600))


def requeue_after() -> timedelta:
    """A pending row handed to the broker this long ago and still not taken is handed again."""
    return timedelta(seconds=getattr(settings, "RELCAL_REMINDER_REQUEUE_AFTER", 300))


def max_attempts() -> int:
    return int(getattr(settings, "RELCAL_REMINDER_MAX_ATTEMPTS", 5))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base… after the 1st, 2nd, 3rd failed attempt."""
    base = getattr(settings, "RELCAL_REMINDER_RETRY_BASE", 60)
    return timedelta(seconds=base * 2 ** max(0, attempts - 1))


# --- The registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    kind: str
    obj: models.Model
    recipient: models.Model  # a user
    due: datetime


@dataclass(frozen=True)
class Message:
    subject: str
    lines: list[str]
    link: str  # a path on the site (``/releases/3/``) or a full URL
    action: str  # the link's label: "Sign off", "Extend the booking"…


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[models.Model]
    rule: Callable[[datetime, datetime], Iterable[Reminder]]
    message: Callable[[models.Model, Delivery], Message]
    # Asked just before sending: False skips a reminder that no longer applies (the milestone
    # was done, the sign-off given) instead of nagging.
    still_due: Callable[[models.Model, Delivery], bool] | None = None


KINDS: dict[str, Kind] = {}
_discovered = False


def register(
    name: str,
    *,
    model: type[models.Model],
    rule: Callable[[datetime, datetime], Iterable[Reminder]],
    message: Callable[[models.Model, Delivery], Message],
    still_due: Callable[[models.Model, Delivery], bool] | None = None,
) -> None:
    KINDS[name] = Kind(name, model, rule, message, still_due)


def kinds() -> dict[str, Kind]:
    global _discovered
    if not _discovered:
        autodiscover_modules("reminders")
        _discovered = True
    return KINDS


def object_type(model: type[models.Model] | models.Model) -> str:
    return model._meta.label_lower


def absolute(link: str) -> str:
    return link if "://" in link else f"{settings.SITE_URL}{link}"


# --- The scan ------------------------------------------------------------------------------------


def collect(now: datetime) -> int:
    """Create the ``Delivery`` rows of every reminder that fell due since the cut-off; rows
    that exist already are left alone (the unique key). Returns how many rules found."""
    since = now - stale_after()
    rows = []
    for kind in kinds().values():
        for reminder in kind.rule(now, since):
            rows.append(
                Delivery(
                    kind=reminder.kind,
                    object_type=object_type(reminder.obj),
                    object_id=reminder.obj.pk,
                    recipient_id=reminder.recipient.pk,
                    due=reminder.due,
                    next_attempt_at=reminder.due,
                )
            )
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def release_dead_claims(now: datetime) -> None:
    """Rows left in ``sending`` by a worker that died: try again, or give up at the limit."""
    dead = Delivery.objects.filter(state=State.SENDING, claimed_at__lt=now - claim_timeout())
    dead.filter(attempts__gte=max_attempts()).update(
        state=State.FAILED, last_error="The worker sending it stopped; gave up after retries."
    )
    dead.update(state=State.PENDING, next_attempt_at=now, enqueued_at=None, claimed_at=None)


def take_due(now: datetime) -> list[int]:
    """Pending rows that may be tried now and are not already waiting in the broker; marks them
    enqueued. A row can still be handed twice (two scans at once): the claim makes that safe."""
    due = Delivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue_after())
    )
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:1000])
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    return ids


def scan(*, now: datetime | None = None) -> list[int]:
    """The periodic task's body: find what is due, hand it to the workers after commit."""
    now = now or timezone.now()
    with transaction.atomic():
        release_dead_claims(now)
        collect(now)
        ids = take_due(now)
        enqueue_deliveries(ids)
    return ids


# --- Enqueueing ----------------------------------------------------------------------------------


def safe_apply_async(task, *args) -> bool:
    """Hand a task to the broker; never raise. A web request must not fail or hang because the
    broker is down: the scan hands pending rows over again once it is back."""
    try:
        task.apply_async(args, retry=False)
    except Exception:
        logger.warning(
            "Could not enqueue %s%r; the scan will catch up.", task.name, args, exc_info=True
        )
        return False
    return True


def enqueue_deliveries(ids: list[int]) -> None:
    """Hand ``deliver`` tasks to the broker once the surrounding transaction commits, so a
    rolled-back scan sends nothing and a worker never looks for a row not yet visible."""
    if not ids:
        return
    from . import tasks  # tasks import this module; keep the import one-way at load time

    def send() -> None:
        for n, pk in enumerate(ids):
            if not safe_apply_async(tasks.deliver, pk):
                # The broker is down: the rest would fail the same way. Mark them not handed
                # over, so that the next scan tries again at once rather than after the
                # requeue delay.
                Delivery.objects.filter(pk__in=ids[n:], state=State.PENDING).update(
                    enqueued_at=None
                )
                break

    transaction.on_commit(send)


def kick() -> None:
    """Ask for a scan soon after commit (e.g. a sign-off was just requested), instead of waiting
    up to a minute for the schedule. Never raises."""
    from . import tasks

    transaction.on_commit(lambda: safe_apply_async(tasks.scan))


# --- Delivery ------------------------------------------------------------------------------------


def claim(pk: int, now: datetime) -> bool:
    """Take the row for this worker: only one conditional update can move it out of pending."""
    return bool(
        Delivery.objects.filter(pk=pk, state=State.PENDING, next_attempt_at__lte=now).update(
            state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def _finish(delivery: Delivery, **fields) -> None:
    # Conditional on our own claim: if it expired and another worker took the row, leave it.
    Delivery.objects.filter(
        pk=delivery.pk, state=State.SENDING, claimed_at=delivery.claimed_at
    ).update(**fields)


def deliver(pk: int, *, now: datetime | None = None) -> str:
    """Claim one row and send it; returns the row's resulting state (or "" if not claimed)."""
    now = now or timezone.now()
    if not claim(pk, now):
        return ""  # another worker has it, or it is done, or not yet due
    delivery = Delivery.objects.select_related("recipient").get(pk=pk)
    kind = kinds().get(delivery.kind)
    if delivery.due < now - stale_after():
        _finish(delivery, state=State.SKIPPED, last_error="Too late to be useful.")
        return State.SKIPPED
    obj = kind and kind.model._default_manager.filter(pk=delivery.object_id).first()
    recipient = delivery.recipient
    reason = ""
    if kind is None:
        reason = f"Unknown reminder kind {delivery.kind!r}."
    elif obj is None:
        reason = "Its subject no longer exists."
    elif not recipient.is_active or not recipient.email:
        reason = "The recipient has no active account with an email address."
    elif kind.still_due is not None and not kind.still_due(obj, delivery):
        reason = "No longer applies."
    if reason:
        _finish(delivery, state=State.SKIPPED, last_error=reason)
        return State.SKIPPED
    message = kind.message(obj, delivery)
    try:
        send_email(recipient, message)
    except Exception as error:  # any channel failure is retried the same way
        error_text = f"{type(error).__name__}: {error}"[:2000]
        if delivery.attempts >= max_attempts():
            _finish(delivery, state=State.FAILED, last_error=error_text, subject=message.subject)
            return State.FAILED
        _finish(
            delivery,
            state=State.PENDING,
            last_error=error_text,
            next_attempt_at=now + retry_delay(delivery.attempts),
            enqueued_at=None,
            claimed_at=None,
        )
        return State.PENDING
    _finish(delivery, state=State.SENT, sent_at=now, last_error="", subject=message.subject)
    return State.SENT


def send_email(recipient, message: Message) -> None:
    context = {
        "recipient": recipient,
        "message": message,
        "url": absolute(message.link),
        "site_url": settings.SITE_URL,
    }
    email = EmailMultiAlternatives(
        subject=f"[Relcal] {message.subject}",
        body=render_to_string("relcal/email/reminder.txt", context),
        to=[recipient.email],
    )
    email.attach_alternative(render_to_string("relcal/email/reminder.html", context), "text/html")
    email.send()


# --- Helpers for rules ---------------------------------------------------------------------------


def users_by_id(ids: Iterable[int]) -> dict[int, models.Model]:
    """Active users with an email address, in one query."""
    return {
        user.pk: user
        for user in get_user_model()
        .objects.filter(pk__in=set(ids), is_active=True)
        .exclude(email="")
    }
