"""The channels a reminder goes out by: email (one reminder, or a person's daily digest) and team
webhooks (Slack-compatible text, or JSON signed with HMAC-SHA256). Each send raises on failure;
``reminders.delivery`` retries."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from relcal import outbound

from . import conf, registry
from .models import Delivery, Webhook, WebhookFormat
from .registry import absolute


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


def send_email(recipient, message: registry.Message) -> None:
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


def send_digest(recipient, messages: list[registry.Message]) -> None:
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


def webhook_payload(hook: Webhook, message: registry.Message, *, delivery: Delivery | None) -> dict:
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


def post_webhook(
    hook: Webhook,
    message: registry.Message,
    *,
    delivery: Delivery | None,
    now: datetime | None = None,
) -> None:
    """POST the message; any answer but 2xx (a redirect included), no answer within the timeout,
    or an address the policy refuses raises (``relcal.outbound``: the address is checked once
    resolved and the connection made to it; loopback and private ranges only with
    ``RELCAL_WEBHOOK_ALLOW_PRIVATE``). ``user:password@`` in the URL is sent as Basic auth.

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
    try:
        outbound.post(
            hook.url,
            body,
            headers,
            timeout=conf.webhook_timeout(),
            allow_private=conf.webhook_allow_private(),
        )
    except outbound.AddressRefused as error:
        raise outbound.SendFailed(f"refused: {error.message}") from None
