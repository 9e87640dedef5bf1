"""Reminder delivery, shared by every app: the registry of reminder kinds, the scan that turns
due reminders into ``Delivery`` rows, and delivery itself (claim, send, retry, skip) by email,
daily digest or team webhook.

Each app declares its reminders in ``<app>/reminders.py`` with ``register(...)``: a rule
``(now, since) -> iterable of Reminder`` that finds what falls due in ``(since, now]`` with an
index-backed range query, and a ``message`` that words it. Nothing else is per app.

Who gets what: each person a reminder names, by email right away, in their daily digest or not
at all, as their ``NotificationPreference`` for the kind says; and each active webhook of the
subject's team that wants the kind.

Exactly once (DESIGN.md invariant 6):

- at most once: a reminder's key (kind, object, recipient or webhook, due) is unique in
  ``Delivery``, so scans that run twice, late or concurrently create one row; a worker sends
  only rows it claimed with a conditional update ``pending → sending``, so two workers never
  both send one;
- at least once: a pending row is re-enqueued by every scan until a worker takes it, and a claim
  older than the claim timeout (a worker killed mid-send) goes back to pending. The one window
  left is a worker killed after the mail server (or webhook) accepted the message and before
  the row says ``sent``: that message goes out again, which beats losing it. JSON webhooks
  carry the delivery id in ``X-Relcal-Delivery`` so that a receiver can drop the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from .models import (
    Channel,
    Delivery,
    DeliveryState,
    NotificationMode,
    NotificationPreference,
    Webhook,
    WebhookFormat,
)

logger = logging.getLogger(__name__)
State = DeliveryState
Mode = NotificationMode


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


def digest_time(due: datetime) -> datetime:
    """The first daily digest at or after ``due``: ``RELCAL_DIGEST_HOUR`` o'clock where Relcal
    runs (``TIME_ZONE``), whatever the daylight-saving shift."""
    hour = int(getattr(settings, "RELCAL_DIGEST_HOUR", 8))
    day = timezone.localtime(due).date()
    slot = timezone.make_aware(datetime.combine(day, time(hour)))
    if slot < due:
        slot = timezone.make_aware(datetime.combine(day + timedelta(days=1), time(hour)))
    return slot


def webhook_timeout() -> float:
    return float(getattr(settings, "RELCAL_WEBHOOK_TIMEOUT", 10))


# --- The registry --------------------------------------------------------------------------------


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
_discovered = False


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


# --- Preferences ---------------------------------------------------------------------------------


def modes(user_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """(user id, kind) → mode, for the kinds these users changed from "right away"."""
    return {
        (user_id, kind): mode
        for user_id, kind, mode in NotificationPreference.objects.filter(
            user_id__in=set(user_ids)
        ).values_list("user_id", "kind", "mode")
    }


def set_mode(user, kind: str, mode: str) -> None:
    """Record how ``user`` wants ``kind``; right away is the default and keeps no row."""
    if mode == Mode.IMMEDIATE:
        NotificationPreference.objects.filter(user=user, kind=kind).delete()
    else:
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"mode": mode}
        )


# --- The scan ------------------------------------------------------------------------------------


def collect(now: datetime) -> int:
    """Create the ``Delivery`` rows of every reminder that fell due since the cut-off: one per
    person (unless muted; a digest row waits for the digest hour) and one per interested team
    webhook. Rows that exist already are left alone (the unique keys). Returns how many rows
    the rules asked for."""
    since = now - stale_after()
    found = [reminder for kind in kinds().values() for reminder in _run_rule(kind, now, since)]
    if not found:
        return 0
    mode_of = modes(user.pk for reminder in found for user in reminder.recipients)
    hooks: dict[int, list[Webhook]] = defaultdict(list)
    for hook in Webhook.objects.filter(active=True):
        hooks[hook.team_id].append(hook)
    rows = []
    for reminder in found:
        kind = KINDS[reminder.kind]
        key = {
            "kind": reminder.kind,
            "object_type": object_type(reminder.obj),
            "object_id": reminder.obj.pk,
            "due": reminder.due,
        }
        at = now if kind.due_when_found else reminder.due
        for user in {user.pk: user for user in reminder.recipients}.values():
            mode = mode_of.get((user.pk, reminder.kind), Mode.IMMEDIATE)
            if mode == Mode.MUTED:
                continue
            digest = mode == Mode.DIGEST
            rows.append(
                Delivery(
                    **key,
                    recipient_id=user.pk,
                    channel=Channel.DIGEST if digest else Channel.EMAIL,
                    next_attempt_at=digest_time(at) if digest else at,
                )
            )
        for team_id in set(kind.teams(reminder.obj)) if kind.teams else ():
            for hook in hooks.get(team_id, ()):
                if hook.wants(reminder.kind):
                    rows.append(
                        Delivery(
                            **key,
                            webhook_id=hook.pk,
                            channel=Channel.WEBHOOK,
                            next_attempt_at=at,
                        )
                    )
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def _run_rule(kind: Kind, now: datetime, since: datetime) -> list[Reminder]:
    """One kind's rule, in a savepoint: a rule that fails (bad data, a bug) is logged and
    skipped for this scan, and the other kinds' reminders still go out."""
    try:
        with transaction.atomic():
            return list(kind.rule(now, since))
    except Exception:
        logger.exception(
            "The reminder rule %s failed; its reminders wait for a later scan.", kind.name
        )
        return []


def release_dead_claims(now: datetime) -> None:
    """Rows left in ``sending`` by a worker that died: try again, or give up at the limit."""
    dead = Delivery.objects.filter(state=State.SENDING, claimed_at__lt=now - claim_timeout())
    dead.filter(attempts__gte=max_attempts()).update(
        state=State.FAILED, last_error="The worker sending it stopped; gave up after retries."
    )
    dead.update(state=State.PENDING, next_attempt_at=now, enqueued_at=None, claimed_at=None)


def _ready(now: datetime):
    """Pending rows that may be tried now and are not already waiting in the broker."""
    return Delivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue_after())
    )


def take_due(now: datetime) -> list[int]:
    """Email and webhook rows to hand to the workers, marked enqueued. A row can still be handed
    twice (two scans at once): the claim makes that safe."""
    due = _ready(now).exclude(channel=Channel.DIGEST)
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:1000])
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    return ids


def take_digests(now: datetime) -> list[int]:
    """The people whose digest is due, their rows marked enqueued."""
    rows = list(
        _ready(now)
        .filter(channel=Channel.DIGEST)
        .order_by("next_attempt_at")
        .values_list("pk", "recipient_id")[:5000]
    )
    Delivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(enqueued_at=now)
    return sorted({recipient_id for _, recipient_id in rows})


def scan(*, now: datetime | None = None) -> list[int]:
    """The periodic task's body: find what is due, hand it to the workers after commit.
    Returns the ids of the rows handed over (digests aside)."""
    now = now or timezone.now()
    with transaction.atomic():
        release_dead_claims(now)
        collect(now)
        ids = take_due(now)
        people = take_digests(now)
        from . import tasks  # tasks import this module; keep the import one-way at load time

        enqueue(tasks.deliver, ids, Delivery.objects.filter(pk__in=ids))
        enqueue(
            tasks.deliver_digest,
            people,
            Delivery.objects.filter(recipient_id__in=people, channel=Channel.DIGEST),
        )
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


def enqueue(task, ids: list[int], rows) -> None:
    """Hand ``task(id)`` for each id to the broker once the surrounding transaction commits, so
    a rolled-back scan sends nothing and a worker never looks for a row not yet visible. If the
    broker is down, ``rows`` (the deliveries behind the ids) are marked not handed over, so
    that the next scan tries again at once rather than after the requeue delay."""
    if not ids:
        return

    def send() -> None:
        for pk in ids:
            if not safe_apply_async(task, pk):
                rows.filter(state=State.PENDING).update(enqueued_at=None)
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


def _retry_or_fail(attempts: int, error: Exception, now: datetime) -> dict:
    """The fields of a row whose send failed on its ``attempts``-th try."""
    error_text = f"{type(error).__name__}: {error}"[:2000]
    if attempts >= max_attempts():
        return {"state": State.FAILED, "last_error": error_text}
    return {
        "state": State.PENDING,
        "last_error": error_text,
        "next_attempt_at": now + retry_delay(attempts),
        "enqueued_at": None,
        "claimed_at": None,
    }


def due_at(delivery: Delivery, kind: Kind | None) -> datetime:
    """When the reminder fell due: its ``due``, or for a kind due when found, when it was."""
    return delivery.created_at if kind is not None and kind.due_when_found else delivery.due


def _skip_reason(delivery: Delivery, kind: Kind | None, obj, muted: bool) -> str:
    if kind is None:
        return f"Unknown reminder kind {delivery.kind!r}."
    if obj is None:
        return "Its subject no longer exists."
    if delivery.webhook_id is not None:
        if not delivery.webhook.wants(delivery.kind):
            return "The webhook is switched off or no longer takes this kind."
    else:
        recipient = delivery.recipient
        if not recipient.is_active or not recipient.email:
            return "The recipient has no active account with an email address."
        if muted:
            return "Muted by the recipient."
    if kind.still_due is not None and not kind.still_due(obj, delivery):
        return "No longer applies."
    return ""


def deliver(pk: int, *, now: datetime | None = None) -> str:
    """Claim one email or webhook row and send it; returns the row's resulting state (or "" if
    not claimed)."""
    now = now or timezone.now()
    if not claim(pk, now):
        return ""  # another worker has it, or it is done, or not yet due
    delivery = Delivery.objects.select_related("recipient", "webhook__team").get(pk=pk)
    kind = kinds().get(delivery.kind)
    if due_at(delivery, kind) < now - stale_after():
        _finish(delivery, state=State.SKIPPED, last_error="Too late to be useful.")
        return State.SKIPPED
    obj = kind and kind.model._default_manager.filter(pk=delivery.object_id).first()
    muted = delivery.recipient_id is not None and (
        modes([delivery.recipient_id]).get((delivery.recipient_id, delivery.kind)) == Mode.MUTED
    )
    try:
        reason = _skip_reason(delivery, kind, obj, muted)
        message = None if reason else kind.message(obj, delivery)
    except Exception as error:  # a bug in a kind's wording: this row fails, with its error
        logger.exception("Could not word delivery %s.", pk)
        fields = _retry_or_fail(delivery.attempts, error, now)
        _finish(delivery, **fields)
        return fields["state"]
    if reason:
        _finish(delivery, state=State.SKIPPED, last_error=reason)
        return State.SKIPPED
    try:
        if delivery.webhook_id is not None:
            post_webhook(delivery.webhook, message, delivery=delivery, now=now)
        else:
            send_email(delivery.recipient, message)
    except Exception as error:  # any channel failure is retried the same way
        fields = _retry_or_fail(delivery.attempts, error, now)
        _finish(delivery, **fields, subject=message.subject)
        return fields["state"]
    _finish(delivery, state=State.SENT, sent_at=now, last_error="", subject=message.subject)
    return State.SENT


def deliver_digest(recipient_id: int, *, now: datetime | None = None) -> int:
    """Claim every due digest row of one person and send them as one email; returns how many
    reminders it carried. Rows are claimed together under one token, so two workers handed the
    same person split nothing and send nothing twice."""
    now = now or timezone.now()
    token = uuid.uuid4()
    claimed = Delivery.objects.filter(
        recipient_id=recipient_id,
        channel=Channel.DIGEST,
        state=State.PENDING,
        next_attempt_at__lte=now,
    ).update(state=State.SENDING, claimed_at=now, claim=token, attempts=F("attempts") + 1)
    if not claimed:
        return 0
    mine = Delivery.objects.filter(claim=token, state=State.SENDING)
    rows = list(mine.select_related("recipient").order_by("due", "id"))
    by_kind: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row.object_id)
    objects = {
        (name, pk): obj
        for name, pks in by_kind.items()
        if name in kinds()
        for pk, obj in KINDS[name].model._default_manager.in_bulk(pks).items()
    }
    mode_of = modes([recipient_id])
    items: list[tuple[Delivery, Message]] = []
    skipped: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        kind = KINDS.get(row.kind)
        muted = mode_of.get((recipient_id, row.kind)) == Mode.MUTED
        try:
            reason = _skip_reason(row, kind, objects.get((row.kind, row.object_id)), muted)
            if not reason and digest_time(due_at(row, kind)) < now - stale_after():
                reason = "Too late to be useful."
            if not reason:
                items.append((row, kind.message(objects[(row.kind, row.object_id)], row)))
        except Exception as error:  # this row fails alone; the rest of the digest goes out
            logger.exception("Could not word delivery %s.", row.pk)
            mine.filter(pk=row.pk).update(**_retry_or_fail(row.attempts, error, now))
            continue
        if reason:
            skipped[reason].append(row.pk)
    for reason, pks in skipped.items():
        mine.filter(pk__in=pks).update(state=State.SKIPPED, last_error=reason)
    if not items:
        return 0
    sending = mine.filter(pk__in=[row.pk for row, _ in items])
    subjects = Case(*(When(pk=row.pk, then=Value(m.subject[:300])) for row, m in items))
    try:
        send_digest(rows[0].recipient, [message for _, message in items])
    except Exception as error:
        attempts = max(row.attempts for row, _ in items)
        sending.update(**_retry_or_fail(attempts, error, now), subject=subjects)
        return 0
    sending.update(state=State.SENT, sent_at=now, last_error="", subject=subjects)
    return len(items)


# --- Channels ------------------------------------------------------------------------------------


def _email(recipient, subject: str, template: str, context: dict) -> None:
    context = {"recipient": recipient, "site_url": settings.SITE_URL, **context}
    email = EmailMultiAlternatives(
        subject=f"[Relcal] {subject}",
        body=render_to_string(f"relcal/email/{template}.txt", context),
        to=[recipient.email],
    )
    email.attach_alternative(
        render_to_string(f"relcal/email/{template}.html", context), "text/html"
    )
    email.send()


def send_email(recipient, message: Message) -> None:
    _email(
        recipient,
        message.subject,
        "reminder",
        {
            "message": message,
            "url": absolute(message.link),
            "preferences": absolute(reverse("profile")),
        },
    )


def send_digest(recipient, messages: list[Message]) -> None:
    count = len(messages)
    _email(
        recipient,
        f"Your daily digest: {count} reminder{'s' * (count != 1)}",
        "digest",
        {
            "items": [(message, absolute(message.link)) for message in messages],
            "preferences": absolute(reverse("profile")),
        },
    )


def _slack_escape(text: str) -> str:
    # Slack's three control characters; everything else is sent as it is.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_payload(hook: Webhook, message: Message, *, delivery: Delivery | None) -> dict:
    """The JSON body: ``{"text": …}`` for Slack-compatible hooks (mrkdwn with a link), a
    structured object for generic JSON hooks."""
    url = absolute(message.link)
    if hook.format == WebhookFormat.SLACK:
        lines = [f"*{_slack_escape(message.subject)}*"]
        lines += [_slack_escape(line) for line in message.lines]
        lines.append(f"<{url}|{_slack_escape(message.action)}>")
        return {"text": "\n".join(lines)}
    return {
        "delivery": delivery.pk if delivery else None,
        "kind": delivery.kind if delivery else "test",
        "due": delivery.due.isoformat() if delivery else None,
        "object": ({"type": delivery.object_type, "id": delivery.object_id} if delivery else None),
        "team": hook.team.slug,
        "subject": message.subject,
        "lines": message.lines,
        "url": url,
        "action": message.action,
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Relcal-Signature``: HMAC-SHA256 of ``<timestamp>.<body>`` with the webhook's secret,
    hex, prefixed ``sha256=``. Signing the timestamp too lets a receiver refuse replays."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to report, not a place to re-post the message


_opener = urllib.request.build_opener(_NoRedirect)


def post_webhook(
    hook: Webhook, message: Message, *, delivery: Delivery | None, now: datetime | None = None
) -> None:
    """POST the message; any answer but 2xx (or no answer within the timeout) raises.

    Generic JSON hooks get ``X-Relcal-Event`` (the kind), ``X-Relcal-Delivery`` (the row id,
    the same on a retry), ``X-Relcal-Timestamp`` (Unix seconds) and ``X-Relcal-Signature``."""
    body = json.dumps(webhook_payload(hook, message, delivery=delivery)).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Relcal-Webhook/1"}
    if hook.format == WebhookFormat.JSON:
        timestamp = str(int((now or timezone.now()).timestamp()))
        headers |= {
            "X-Relcal-Event": delivery.kind if delivery else "test",
            "X-Relcal-Delivery": str(delivery.pk) if delivery else "test",
            "X-Relcal-Timestamp": timestamp,
            "X-Relcal-Signature": signature(hook.secret, timestamp, body),
        }
    request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
    with _opener.open(request, timeout=webhook_timeout()) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"The webhook answered HTTP {response.status}.")


# --- Helpers for rules ---------------------------------------------------------------------------


def reachable(users: Iterable) -> tuple:
    """The users who can be emailed (active, with an address), each once; ``None`` entries
    (an unset manager) are dropped."""
    return tuple({u.pk: u for u in users if u is not None and u.is_active and u.email}.values())
