"""Delivery: a worker claims one row (or one person's digest rows) with a conditional update,
words it, sends it through its channel, and records the outcome (sent, retried with backoff,
failed after the last attempt, or skipped when it no longer applies).

Exactly once (DESIGN.md invariant 6), the workers' half: a worker sends only rows it claimed
with a conditional update ``pending → sending``, so two workers never both send one. The one
window left is a worker killed after the mail server (or webhook) accepted the message and
before the row says ``sent``: that message goes out again, which beats losing it. JSON webhooks
carry the delivery id in ``X-Relcal-Delivery`` so that a receiver can drop the repeat.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from datetime import datetime

from django.db import OperationalError
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts import zones

from . import channels, conf, registry
from .models import Channel, Delivery, DeliveryState, NotificationMode
from .preferences import modes

logger = logging.getLogger(__name__)
State = DeliveryState
Mode = NotificationMode


def claim(pk: int, now: datetime) -> bool:
    """Take the row for this worker: only one conditional update can move it out of pending."""
    return bool(
        Delivery.objects.filter(pk=pk, state=State.PENDING, next_attempt_at__lte=now).update(
            state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


FINISH_ATTEMPTS = 5


def _finish(delivery: Delivery, **fields) -> None:
    # Conditional on our own claim: if it expired and another worker took the row, leave it.
    mine = Delivery.objects.filter(
        pk=delivery.pk, state=State.SENDING, claimed_at=delivery.claimed_at
    )
    # After a send, a moment's lock (SQLite's "database table is locked", a failover) must not
    # lose the record of it: the row would go out again once the claim times out. Retried for
    # 1.5 s in all, well inside the claim timeout.
    for attempt in range(FINISH_ATTEMPTS):
        try:
            mine.update(**fields)
            return
        except OperationalError:
            if attempt == FINISH_ATTEMPTS - 1:
                raise
            logger.warning("Recording delivery %s failed; trying again.", delivery.pk)
            time.sleep(0.1 * 2**attempt)


def _retry_or_fail(attempts: int, error: Exception, now: datetime) -> dict:
    """The fields of a row whose send failed on its ``attempts``-th try."""
    error_text = f"{type(error).__name__}: {error}"[:2000]
    if attempts >= conf.max_attempts():
        return {"state": State.FAILED, "last_error": error_text}
    return {
        "state": State.PENDING,
        "last_error": error_text,
        "next_attempt_at": now + conf.retry_delay(attempts),
        "enqueued_at": None,
        "claimed_at": None,
    }


def due_at(delivery: Delivery, kind: registry.Kind | None) -> datetime:
    """When the reminder fell due: its ``due``, or for a kind due when found, when it was."""
    return delivery.created_at if kind is not None and kind.due_when_found else delivery.due


def _skip_reason(delivery: Delivery, kind: registry.Kind | None, obj, muted: bool) -> str:
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
    delivery = Delivery.objects.select_related("recipient", "webhook__team").filter(pk=pk).first()
    if delivery is None:
        return ""  # its webhook was deleted since the claim, and the row with it
    kind = registry.kinds().get(delivery.kind)
    if due_at(delivery, kind) < now - conf.stale_after():
        _finish(delivery, state=State.SKIPPED, last_error="Too late to be useful.")
        return State.SKIPPED
    obj = kind and kind.model._default_manager.filter(pk=delivery.object_id).first()
    muted = delivery.recipient_id is not None and (
        modes([delivery.recipient_id]).get((delivery.recipient_id, delivery.kind)) == Mode.MUTED
    )
    # An email is worded and rendered in its recipient's zone; a team's webhook in the site's.
    zone = zones.of_user(delivery.recipient) if delivery.recipient_id else None
    with timezone.override(zone):
        return _word_and_send(delivery, kind, obj, muted, now)


def _word_and_send(delivery: Delivery, kind, obj, muted: bool, now: datetime) -> str:
    try:
        reason = _skip_reason(delivery, kind, obj, muted)
        message = None if reason else kind.message(obj, delivery)
    except Exception as error:  # a bug in a kind's wording: this row fails, with its error
        logger.exception("Could not word delivery %s.", delivery.pk)
        fields = _retry_or_fail(delivery.attempts, error, now)
        _finish(delivery, **fields)
        return fields["state"]
    if reason:
        _finish(delivery, state=State.SKIPPED, last_error=reason)
        return State.SKIPPED
    try:
        if delivery.webhook_id is not None:
            channels.post_webhook(delivery.webhook, message, delivery=delivery, now=now)
        else:
            channels.send_email(delivery.recipient, message)
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
        if name in registry.kinds()
        for pk, obj in registry.KINDS[name].model._default_manager.in_bulk(pks).items()
    }
    mode_of = modes([recipient_id])
    # Worded and rendered in the recipient's zone.
    with timezone.override(zones.of_user(rows[0].recipient)):
        return _word_and_send_digest(rows, mine, objects, mode_of, recipient_id, now)


def _word_and_send_digest(rows, mine, objects, mode_of, recipient_id: int, now: datetime) -> int:
    items: list[tuple[Delivery, registry.Message]] = []
    skipped: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        kind = registry.KINDS.get(row.kind)
        muted = mode_of.get((recipient_id, row.kind)) == Mode.MUTED
        try:
            reason = _skip_reason(row, kind, objects.get((row.kind, row.object_id)), muted)
            if not reason and conf.digest_time(due_at(row, kind)) < now - conf.stale_after():
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
        channels.send_digest(rows[0].recipient, [message for _, message in items])
    except Exception as error:
        attempts = max(row.attempts for row, _ in items)
        sending.update(**_retry_or_fail(attempts, error, now), subject=subjects)
        return 0
    sending.update(state=State.SENT, sent_at=now, last_error="", subject=subjects)
    return len(items)
