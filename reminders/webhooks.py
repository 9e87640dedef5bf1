"""Team webhooks: every write (create, change, rotate the secret, delete) and the test message.

The admin calls these. Who may: holders of the model permissions (the Release managers role
starts with them; relcal/migrations/0004_webhook_roles.py). Each write is audited; neither the
secret nor the URL's path (a chat hook's URL is its password) enters the audit trail, only the
fact that they changed.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from relcal import audit, outbound
from relcal.db import locked

from . import channels, registry
from .models import Webhook, new_webhook_secret

logger = logging.getLogger(__name__)

FIELDS = ("team", "name", "url", "format", "kinds", "active")


def _require(actor, action: str) -> None:
    if not actor.is_authenticated or not actor.has_perm(f"relcal.{action}_webhook"):
        raise PermissionDenied(f"You may not {action} team webhooks.")


def redacted_url(url: str) -> str:
    """What the audit trail keeps of a webhook URL: its host, and a digest that shows when it
    changed. A chat service's incoming-webhook URL is itself the credential."""
    parts = urlsplit(url)
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    host = parts.netloc.rpartition("@")[2]  # never the user:password of Basic auth
    return f"{parts.scheme}://{host}/… (sha256 {digest})"


def _values(hook: Webhook) -> dict:
    return {**audit.values(hook, FIELDS), "url": redacted_url(hook.url)}


def _check_text(data: dict) -> None:
    for name in ("name", "url"):
        if "\x00" in str(data.get(name) or ""):  # PostgreSQL cannot store NUL: refuse it, named
            raise ValidationError({name: "Null characters are not allowed."})


@transaction.atomic
def webhook_create(*, actor, **data) -> Webhook:
    _require(actor, "add")
    _check_text(data)
    hook = Webhook(**{name: data[name] for name in FIELDS if name in data})
    hook.full_clean()
    hook.save()
    audit.record(actor=actor, action="webhook.create", obj=hook, after=_values(hook))
    return hook


@transaction.atomic
def webhook_update(*, actor, webhook: Webhook, rotate_secret: bool = False, **changes) -> Webhook:
    _require(actor, "change")
    _check_text(changes)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed."})
    hook = locked(Webhook, webhook.pk)
    before = _values(hook)
    for name, value in changes.items():
        setattr(hook, name, value)
    if rotate_secret:
        hook.secret = new_webhook_secret()
    hook.full_clean()
    hook.save()
    was, now = audit.changes(before, _values(hook))
    if rotate_secret:
        was["secret"], now["secret"] = "(previous)", "(rotated)"
    if now:
        audit.record(actor=actor, action="webhook.update", obj=hook, before=was, after=now)
    return hook


@transaction.atomic
def webhook_delete(*, actor, webhook: Webhook) -> None:
    _require(actor, "delete")
    hook = locked(Webhook, webhook.pk)
    # Its deliveries go with it: rows the workers lock, so before the event (relcal.db).
    audit.delete_and_record(actor=actor, action="webhook.delete", obj=hook, before=_values(hook))


def webhook_test(*, actor, webhook: Webhook) -> str:
    """Post a test message now (not through the workers); returns "" or what went wrong, in
    three words ("could not connect", "timed out", "HTTP <status>") or the address refusal."""
    _require(actor, "change")
    message = registry.Message(
        subject=f"Test message from Relcal for {webhook.team.name}",
        lines=[f"{webhook.name} is set up: reminders for {webhook.team.name} will arrive here."],
        link="/",
        action="Open Relcal",
    )
    try:
        channels.post_webhook(webhook, message, delivery=None)
    except outbound.SendFailed as error:
        # Only "could not connect", "timed out", "HTTP <status>" or the policy's refusal: the
        # raw socket error would tell open, closed and filtered internal ports apart.
        return str(error)
    except Exception:  # reported to the operator, not raised
        logger.exception("The test message to webhook %s failed.", webhook.pk)
        return "could not send"
    return ""
