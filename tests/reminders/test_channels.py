"""Channels and preferences: team webhooks (Slack-compatible and signed JSON, posted to a real
HTTP server on this machine), per-kind preferences (right away, daily digest, muted) and the
digest itself, exactly once."""

from __future__ import annotations

import hmac
import json
import threading
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from approvals.models import AuditEvent
from reminders import channels, conf, delivery, preferences, registry, tasks, webhooks
from reminders import scan as scanning
from reminders.models import Channel, Delivery, DeliveryState, NotificationPreference, Webhook
from tests.conftest import PASSWORD

DAYS = timedelta(days=1)
MILESTONE = "milestone.upcoming"


class Receiver:
    """A webhook endpoint: records each POST and answers ``status`` (200 unless told)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json(self, n: int = -1) -> dict:
        return json.loads(self.requests[n]["body"])


@pytest.fixture
def receiver(settings):
    settings.RELCAL_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def freeze(milestone):
    """A code freeze three days (less a minute) ahead: its 3-day reminder fell due a minute ago."""
    return milestone(3 * DAYS - timedelta(minutes=1))


@pytest.fixture
def hook(admin, payments, receiver):
    def make(**fields) -> Webhook:
        fields.setdefault("name", "#payments-releases")
        fields.setdefault("format", "slack")
        return webhooks.webhook_create(actor=admin, team=payments, url=receiver.url, **fields)

    return make


# --- Webhooks ------------------------------------------------------------------------------------


def test_a_slack_webhook_gets_the_reminder_once_with_a_link(scan, freeze, hook, receiver, alice):
    hook()
    scan()
    scan()  # a repeated scan sends nothing twice
    [request] = receiver.requests
    text = receiver.json()["text"]
    release = freeze.release
    assert text.startswith(f"*Code freeze for {release.name} in 3 days*\n")
    assert f"<{settings.SITE_URL}/releases/{release.pk}/|Open the release>" in text
    assert request["headers"]["Content-Type"] == "application/json"
    row = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert row.state == DeliveryState.SENT and row.recipient is None
    assert "alice@example.com" in [m.to[0] for m in mail.outbox]  # people still get email


def test_slack_control_characters_in_names_are_escaped(
    scan, make_release, milestone, hook, receiver
):
    release = make_release(name="R&D <beta>")
    milestone(3 * DAYS - timedelta(minutes=1), release=release)
    hook()
    scan()
    assert "*Code freeze for R&amp;D &lt;beta&gt; in 3 days*" in receiver.json()["text"]


def test_a_json_webhook_is_signed_with_hmac_sha256_over_timestamp_and_body(
    scan, freeze, hook, receiver
):
    webhook = hook(format="json")
    scan()
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    row = Delivery.objects.get(channel=Channel.WEBHOOK)
    expected = hmac.new(
        webhook.secret.encode(), headers["X-Relcal-Timestamp"].encode() + b"." + body, "sha256"
    ).hexdigest()
    assert headers["X-Relcal-Signature"] == f"sha256={expected}"
    assert headers["X-Relcal-Event"] == MILESTONE
    assert headers["X-Relcal-Delivery"] == str(row.pk)
    assert abs(int(headers["X-Relcal-Timestamp"]) - timezone.now().timestamp()) < 60
    payload = json.loads(body)
    assert payload == {
        "delivery": row.pk,
        "kind": MILESTONE,
        "due": row.due.isoformat(),
        "object": {"type": "releases.milestone", "id": freeze.pk},
        "team": "payments",
        "subject": f"Code freeze for {freeze.release.name} in 3 days",
        "lines": payload["lines"],
        "url": f"{settings.SITE_URL}/releases/{freeze.release.pk}/",
        "action": "Open the release",
    }
    assert payload["lines"][0].startswith("Code freeze of ")
    # A receiver holding another secret, or a tampered body, does not verify.
    forged = hmac.new(b"x" * 64, headers["X-Relcal-Timestamp"].encode() + b"." + body, "sha256")
    assert headers["X-Relcal-Signature"] != f"sha256={forged.hexdigest()}"
    tampered = body.replace(b"3 days", b"9 days")
    assert (
        channels.signature(webhook.secret, headers["X-Relcal-Timestamp"], tampered)
        != (headers["X-Relcal-Signature"])
    )


def test_a_webhook_error_is_retried_with_backoff_and_the_retry_keeps_the_delivery_id(
    freeze, hook, receiver
):
    hook(format="json")
    receiver.statuses = [500]
    now = timezone.now()
    scanning.collect(now)
    row = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert delivery.deliver(row.pk, now=now) == DeliveryState.PENDING
    row.refresh_from_db()
    assert "HTTP 500" in row.last_error
    assert row.next_attempt_at == now + timedelta(seconds=60)
    assert delivery.deliver(row.pk, now=row.next_attempt_at) == DeliveryState.SENT
    ids = [r["headers"]["X-Relcal-Delivery"] for r in receiver.requests]
    assert ids == [str(row.pk), str(row.pk)]  # the receiver can drop a repeat


def test_a_redirect_is_an_error_not_a_second_post(freeze, hook, receiver):
    hook()
    receiver.statuses = [302]
    now = timezone.now()
    scanning.collect(now)
    row = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert delivery.deliver(row.pk, now=now) == DeliveryState.PENDING
    row.refresh_from_db()
    assert "302" in row.last_error
    assert len(receiver.requests) == 1


def test_a_team_channel_reads_whose_booking_it_is(scan, booking, hook, receiver):
    hook(kinds=["booking.starting"])
    booking(timedelta(minutes=14), timedelta(hours=1))
    scan()
    assert receiver.json()["text"].startswith(
        "*The Payments booking of staging starts in 15 minutes*"
    )


def test_a_message_that_cannot_be_worded_fails_its_row_with_the_error(freeze, alice, monkeypatch):
    kind = registry.kinds()[MILESTONE]

    def broken(obj, delivery):
        raise KeyError("oops")

    monkeypatch.setitem(
        registry.KINDS, MILESTONE, kind.__class__(**{**vars(kind), "message": broken})
    )
    now = timezone.now()
    scanning.collect(now)
    row = Delivery.objects.get(recipient=alice)
    assert delivery.deliver(row.pk, now=now) == DeliveryState.PENDING  # retried, not stuck
    row.refresh_from_db()
    assert row.last_error == "KeyError: 'oops'" and row.claimed_at is None
    assert mail.outbox == []


def test_a_webhook_hears_only_its_team_and_its_kinds(scan, freeze, hook, receiver, admin, search):
    hook(kinds=["booking.ending"])  # not milestones
    webhooks.webhook_create(
        actor=admin, team=search, name="#search", url=receiver.url, format="slack"
    )
    hook(name="off", active=False)
    scan()
    assert receiver.requests == []
    assert not Delivery.objects.filter(channel=Channel.WEBHOOK).exists()


def test_a_webhook_switched_off_after_the_scan_is_skipped(freeze, hook, receiver, admin):
    webhook = hook()
    now = timezone.now()
    scanning.collect(now)
    webhooks.webhook_update(actor=admin, webhook=webhook, active=False)
    row = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert delivery.deliver(row.pk, now=now) == DeliveryState.SKIPPED
    assert receiver.requests == []


def test_webhook_writes_are_audited_without_the_secret(hook, admin):
    webhook = hook()
    old = webhook.secret
    webhooks.webhook_update(actor=admin, webhook=webhook, rotate_secret=True, name="#pay")
    webhook.refresh_from_db()
    assert webhook.secret != old and len(webhook.secret) == 64
    webhooks.webhook_delete(actor=admin, webhook=webhook)
    events = list(AuditEvent.objects.filter(action__startswith="webhook.").order_by("seq"))
    assert [e.action for e in events] == ["webhook.create", "webhook.update", "webhook.delete"]
    assert events[1].after == {"name": "#pay", "secret": "(rotated)"}
    trail = json.dumps([e.before for e in events] + [e.after for e in events])
    assert old not in trail
    # A chat hook's URL is its password: the trail keeps the host and a digest of the rest.
    assert webhook.url not in trail
    assert events[0].after["url"].startswith("http://127.0.0.1:")
    assert "/… (sha256 " in events[0].after["url"]


def test_bad_webhook_input_is_refused_naming_the_field(admin, payments):
    with pytest.raises(Exception) as error:
        webhooks.webhook_create(
            actor=admin, team=payments, name="x", url="ftp://example.com", kinds=["nope"]
        )
    assert set(error.value.message_dict) == {"url", "kinds"}
    assert "Unknown reminder kind 'nope'" in error.value.message_dict["kinds"][0]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("alice", False), ("outsider", False), ("manager", True)],
    ids=["team-member-refused", "outsider-refused", "release-manager-allowed"],
)
def test_only_holders_of_the_permission_manage_webhooks(payments, request, persona, allowed):
    from django.core.exceptions import PermissionDenied

    user = request.getfixturevalue(persona)

    def create():
        return webhooks.webhook_create(
            actor=user, team=payments, name="x", url="https://example.com/hook"
        )

    if allowed:
        # Release managers start with it (relcal/migrations/0004_webhook_roles.py).
        assert create().pk
    else:
        with pytest.raises(PermissionDenied):
            create()


def test_the_admin_manages_webhooks_and_sends_a_test_message(client, manager, payments, receiver):
    manager.is_staff = True  # release managers work in the admin
    manager.save()
    client.login(username="manager", password=PASSWORD)
    response = client.post(
        "/admin/relcal/webhook/add/",
        {
            "team": payments.pk,
            "name": "#payments",
            "url": receiver.url,
            "format": "json",
            "kinds": ["booking.ending", "signoff.pending"],
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    webhook = Webhook.objects.get()
    assert webhook.kinds == ["booking.ending", "signoff.pending"]
    page = client.get(f"/admin/relcal/webhook/{webhook.pk}/change/").content.decode()
    assert webhook.secret in page  # the receiving end needs it
    response = client.post(
        "/admin/relcal/webhook/",
        {"action": "send_test", "_selected_action": [webhook.pk]},
        follow=True,
    )
    assert "test message delivered" in response.content.decode()
    assert receiver.json()["subject"] == "Test message from Relcal for Payments"
    assert receiver.requests[0]["headers"]["X-Relcal-Signature"].startswith("sha256=")


def test_the_admin_shows_a_failing_test_message(client, manager, payments, settings):
    settings.RELCAL_WEBHOOK_ALLOW_PRIVATE = True
    manager.is_staff = True  # release managers work in the admin
    manager.save()
    client.login(username="manager", password=PASSWORD)
    webhook = webhooks.webhook_create(
        actor=manager, team=payments, name="dead", url="http://127.0.0.1:9/hook"
    )
    response = client.post(
        "/admin/relcal/webhook/",
        {"action": "send_test", "_selected_action": [webhook.pk]},
        follow=True,
    )
    assert "Dead (Payments): could not connect" in response.content.decode()


@pytest.mark.parametrize("path", ["/admin/relcal/webhook/", "/admin/relcal/delivery/"])
def test_outsiders_cannot_see_webhooks_or_deliveries_in_the_admin(client, outsider, path):
    outsider.is_staff = True
    outsider.save()
    client.login(username="outsider", password=PASSWORD)
    assert client.get(path).status_code == 403


# --- Preferences ---------------------------------------------------------------------------------


def test_a_muted_kind_creates_no_reminder(scan, freeze, alice, manager):
    preferences.set_mode(alice, MILESTONE, "muted")
    scan()
    assert [m.to[0] for m in mail.outbox] == ["manager@example.com"]
    assert not Delivery.objects.filter(recipient=alice).exists()


def test_muting_after_the_scan_skips_the_pending_reminder(freeze, alice):
    now = timezone.now()
    scanning.collect(now)
    row = Delivery.objects.get(recipient=alice)
    preferences.set_mode(alice, MILESTONE, "muted")
    assert delivery.deliver(row.pk, now=now) == DeliveryState.SKIPPED
    row.refresh_from_db()
    assert row.last_error == "Muted by the recipient."


def _digest_hour_after(moment: datetime, hour: int = 8) -> datetime:
    day = timezone.localtime(moment).date()
    slot = timezone.make_aware(datetime.combine(day, time(hour)))
    return slot if slot >= moment else slot + DAYS


def test_digest_reminders_wait_for_the_digest_hour_and_go_out_in_one_email(
    scan, milestone, booking, alice, manager
):
    preferences.set_mode(alice, MILESTONE, "digest")
    preferences.set_mode(alice, "booking.starting", "digest")
    freeze = milestone(3 * DAYS - timedelta(minutes=1))
    other = milestone(3 * DAYS - timedelta(minutes=2), kind="release_candidate")
    booking(timedelta(minutes=14), 2 * DAYS)  # still held at the digest hour
    scan()
    assert "alice@example.com" not in [m.to[0] for m in mail.outbox]
    rows = Delivery.objects.filter(recipient=alice)
    assert {r.channel for r in rows} == {Channel.DIGEST} and rows.count() == 3
    slot = _digest_hour_after(freeze.at - 3 * DAYS)
    assert {r.next_attempt_at for r in rows if r.kind == MILESTONE} == {slot}
    mail.outbox.clear()
    later = max(r.next_attempt_at for r in rows)
    handed = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks.deliver_digest, "send_now", lambda args, **kw: handed.append(args))
        scan(now=later)
    assert handed == [(alice.pk,)]  # one task for the person, whatever the number of rows
    assert delivery.deliver_digest(alice.pk, now=later) == 3  # the worker, at the digest hour
    [digest] = [m for m in mail.outbox if "digest" in m.subject]
    assert digest.to == ["alice@example.com"]
    assert digest.subject == "[Relcal] Your daily digest: 3 reminders"
    assert f"Code freeze for {freeze.release.name} in 3 days" in digest.body
    assert f"Release candidate for {other.release.name} in 3 days" in digest.body
    assert "Your booking of staging starts in 15 minutes" in digest.body
    assert f"{settings.SITE_URL}/profile/" in digest.body
    assert set(rows.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_two_workers_on_one_digest_send_it_once(milestone, alice):
    preferences.set_mode(alice, MILESTONE, "digest")
    milestone(3 * DAYS - timedelta(minutes=1))
    now = timezone.now()
    scanning.collect(now)
    slot = Delivery.objects.get(recipient=alice).next_attempt_at
    second = []
    real_send = channels.send_digest

    def send_while_another_worker_tries(recipient, messages):
        second.append(delivery.deliver_digest(alice.pk, now=slot))
        real_send(recipient, messages)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(channels, "send_digest", send_while_another_worker_tries)
        patch.setattr(conf, "stale_after", lambda: timedelta(days=2))
        assert delivery.deliver_digest(alice.pk, now=slot) == 1
    assert second == [0]
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_failed_digest_is_retried(milestone, alice, monkeypatch):
    preferences.set_mode(alice, MILESTONE, "digest")
    milestone(3 * DAYS - timedelta(minutes=1))
    scanning.collect(timezone.now())
    row = Delivery.objects.get(recipient=alice)
    slot = row.next_attempt_at
    monkeypatch.setattr(conf, "stale_after", lambda: timedelta(days=2))
    with monkeypatch.context() as patch:
        patch.setattr(
            "django.core.mail.EmailMultiAlternatives.send",
            lambda self, *a, **k: (_ for _ in ()).throw(OSError("smtp down")),
        )
        assert delivery.deliver_digest(alice.pk, now=slot) == 0
    row.refresh_from_db()
    assert row.state == DeliveryState.PENDING and "smtp down" in row.last_error
    assert delivery.deliver_digest(alice.pk, now=row.next_attempt_at) == 1
    assert len(mail.outbox) == 1


def test_the_profile_page_sets_preferences_per_kind(client, alice):
    client.login(username="alice", password=PASSWORD)
    page = client.get("/profile/").content.decode()
    assert "A milestone is coming up" in page and "In my daily digest" in page
    response = client.post("/profile/reminders/", {MILESTONE: "digest", "booking.ending": "muted"})
    assert response.status_code == 302 and response["Location"].endswith("#reminders")
    assert dict(alice.notification_preferences.values_list("kind", "mode")) == {
        MILESTONE: "digest",
        "booking.ending": "muted",
    }
    client.post("/profile/reminders/", {MILESTONE: "immediate"})
    assert dict(alice.notification_preferences.values_list("kind", "mode")) == {
        "booking.ending": "muted"
    }


def test_a_bad_preference_is_refused_and_nothing_is_stored(client, alice):
    client.login(username="alice", password=PASSWORD)
    response = client.post("/profile/reminders/", {MILESTONE: "digest", "booking.ending": "loud"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_preferences_need_a_signed_in_user(client, db):
    response = client.post("/profile/reminders/", {MILESTONE: "muted"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not NotificationPreference.objects.exists()
