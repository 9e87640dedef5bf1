"""The scan: every minute (``relcal.schedules``), turn the reminders that fell due into
``Delivery`` rows and hand them to the workers.

Exactly once (DESIGN.md invariant 6), the scan's half: a reminder's key (kind, object,
recipient or webhook, due) is unique in ``Delivery``, so scans that run twice, late or
concurrently create one row; a pending row is handed to the broker again by every scan until a
worker takes it, and a claim older than the claim timeout (a worker killed mid-send) goes back
to pending. ``reminders.delivery`` has the workers' half.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import conf, registry
from .models import Channel, Delivery, DeliveryState, NotificationMode, Webhook
from .preferences import modes

logger = logging.getLogger(__name__)
State = DeliveryState
Mode = NotificationMode
# The tasks the scan hands rows to (``reminders.tasks``).
DELIVER = "relcal.deliver_reminder"
DELIVER_DIGEST = "relcal.deliver_digest"


def collect(now: datetime) -> int:
    """Create the ``Delivery`` rows of every reminder that fell due since the cut-off: one per
    person (unless muted; a digest row waits for the digest hour) and one per interested team
    webhook. Rows that exist already are left alone (the unique keys). Returns how many rows
    the rules asked for."""
    since = now - conf.stale_after()
    found = [
        reminder for kind in registry.kinds().values() for reminder in _run_rule(kind, now, since)
    ]
    if not found:
        return 0
    mode_of = modes(user.pk for reminder in found for user in reminder.recipients)
    hooks: dict[int, list[Webhook]] = defaultdict(list)
    for hook in Webhook.objects.filter(active=True):
        hooks[hook.team_id].append(hook)
    rows = []
    for reminder in found:
        kind = registry.KINDS[reminder.kind]
        key = {
            "kind": reminder.kind,
            "object_type": registry.object_type(reminder.obj),
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
                    next_attempt_at=conf.digest_time(at) if digest else at,
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


def _run_rule(kind: registry.Kind, now: datetime, since: datetime) -> list[registry.Reminder]:
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
    dead = Delivery.objects.filter(state=State.SENDING, claimed_at__lt=now - conf.claim_timeout())
    dead.filter(attempts__gte=conf.max_attempts()).update(
        state=State.FAILED, last_error="The worker sending it stopped; gave up after retries."
    )
    dead.update(state=State.PENDING, next_attempt_at=now, enqueued_at=None, claimed_at=None)


def _ready(now: datetime):
    """Pending rows that may be tried now and are not already waiting in the broker."""
    return Delivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - conf.requeue_after())
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
        hand_over(DELIVER, ids, Delivery.objects.filter(pk__in=ids))
        hand_over(
            DELIVER_DIGEST,
            people,
            Delivery.objects.filter(recipient_id__in=people, channel=Channel.DIGEST),
        )
    return ids


def hand_over(task_name: str, ids: list[int], rows) -> None:
    """Hand ``task(id)`` for each id to the broker once the surrounding transaction commits, so
    a rolled-back scan sends nothing and a worker never looks for a row not yet visible. If the
    broker is down, ``rows`` (the deliveries behind the ids) are marked not handed over, so
    that the next scan tries again at once rather than after the requeue delay."""
    if ids:
        # By name rather than by import: ``reminders.tasks`` runs this module's ``scan``.
        current_app.tasks[task_name].apply_each(
            [(pk,) for pk in ids],
            on_broker_failure=lambda: rows.filter(state=State.PENDING).update(enqueued_at=None),
        )
