"""Where webhooks (and SLO Prometheus servers) may point: link-local and metadata addresses
never, loopback and private ranges only when a setting allows them, checked on the resolved
address when the message is sent, and failures told without mapping ports. Real sockets: an
HTTP server on 127.0.0.1 for the allowed cases; refusals need none."""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from approvals.models import AuditEvent
from relcal import outbound
from reliability import prometheus
from reliability.models import SLO, SLISource
from reminders import channels, registry, webhooks
from reminders.models import Webhook
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ALWAYS_REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.170.2/v2/credentials",
    "http://[fe80::1]/hook",
    "http://[::ffff:169.254.169.254]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://100.100.100.200/latest/meta-data/",
]
PRIVATE = [
    "http://127.0.0.1:8065/hooks/abc",
    "http://127.1.2.3/hook",
    "http://localhost:8065/hooks/abc",
    "http://10.0.0.5/hook",
    "http://172.16.4.1/hook",
    "http://192.168.1.10/hook",
    "http://[::1]/hook",
    "http://[fd00::5]/hook",
]


class Receiver:
    """A webhook endpoint on 127.0.0.1: records each POST and answers ``status``."""

    def __init__(self, status: int = 200):
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def failing_receiver():
    receiver = Receiver(status=500)
    yield receiver
    receiver.close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nobody listens once it is closed


@pytest.fixture
def silent_port():
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock


@pytest.fixture
def allow_private(settings):
    settings.RELCAL_WEBHOOK_ALLOW_PRIVATE = True


def create(actor, team, url: str) -> Webhook:
    return webhooks.webhook_create(actor=actor, team=team, name="#payments", url=url)


def message() -> registry.Message:
    return registry.Message(subject="Hello", lines=["a line"], link="/", action="Open")


# --- Saving --------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_link_local_and_metadata_targets_are_always_refused(admin, payments, allow_private, url):
    with pytest.raises(ValidationError) as refused:
        create(admin, payments, url)
    assert refused.value.message_dict["url"] == [
        "Link-local and cloud metadata addresses are not allowed."
    ]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("url", PRIVATE)
def test_loopback_and_private_targets_are_refused_by_default(admin, payments, url):
    with pytest.raises(ValidationError) as refused:
        create(admin, payments, url)
    assert refused.value.message_dict["url"] == [
        "Loopback and private network addresses are not allowed here."
    ]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("url", PRIVATE)
def test_the_setting_allows_loopback_and_private_targets(admin, payments, allow_private, url):
    assert create(admin, payments, url).url == url


def test_a_change_to_a_refused_target_is_refused_and_nothing_stored(admin, payments):
    hook = create(admin, payments, "https://chat.example.com/hooks/abc")
    with pytest.raises(ValidationError) as refused:
        webhooks.webhook_update(actor=admin, webhook=hook, url="http://169.254.169.254/")
    assert list(refused.value.message_dict) == ["url"]
    hook.refresh_from_db()
    assert hook.url == "https://chat.example.com/hooks/abc"


def test_the_admin_form_names_the_refused_url(client, manager, payments):
    manager.is_staff = True  # release managers work in the admin
    manager.save()
    client.login(username="manager", password=PASSWORD)
    response = client.post(
        "/admin/relcal/webhook/add/",
        {
            "team": payments.pk,
            "name": "#payments",
            "url": "http://169.254.169.254/latest/meta-data/",
            "format": "slack",
            "kinds": ["booking.ending"],
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "Link-local and cloud metadata addresses are not allowed." in response.content.decode()
    assert not Webhook.objects.exists()


# --- Sending -------------------------------------------------------------------------------------


def test_the_address_is_checked_again_when_the_message_is_sent(payments, receiver):
    # Saved when the name pointed elsewhere (or before the policy): now it resolves to loopback.
    hook = Webhook.objects.create(
        team=payments, name="#payments", url=f"http://localhost:{receiver.port}/hook"
    )
    with pytest.raises(outbound.SendFailed, match="refused: Loopback and private network"):
        channels.post_webhook(hook, message(), delivery=None)
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(
    payments, receiver, allow_private, monkeypatch
):
    """DNS rebinding: the name resolves to an allowed address for the check and to the metadata
    address right after. Relcal resolves once and connects to the address it checked."""
    real_getaddrinfo = socket.getaddrinfo
    answers = ["127.0.0.1", "169.254.169.254"]
    asked = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example.com":
            return real_getaddrinfo(host, port, *args, **kwargs)
        asked.append(host)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    hook = Webhook.objects.create(
        team=payments, name="#payments", url=f"http://rebind.example.com:{receiver.port}/hook"
    )
    channels.post_webhook(hook, message(), delivery=None)
    assert asked == ["rebind.example.com"]
    assert receiver.requests[0]["headers"]["Host"] == f"rebind.example.com:{receiver.port}"


def test_user_and_password_in_the_url_are_sent_as_basic_auth(
    admin, payments, receiver, allow_private
):
    hook = create(admin, payments, f"http://relcal:s%40cret@127.0.0.1:{receiver.port}/hook?x=1")
    assert webhooks.webhook_test(actor=admin, webhook=hook) == ""
    sent = receiver.requests[0]
    assert sent["path"] == "/hook?x=1"
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"relcal:s@cret").decode(
        "ascii"
    )
    assert json.loads(sent["body"])["text"].startswith("*Test message from Relcal")


def test_the_audit_trail_keeps_no_basic_auth_password(admin, payments, allow_private):
    create(admin, payments, "http://relcal:s3cret@127.0.0.1:8065/hook")
    trail = json.dumps(list(AuditEvent.objects.values("before", "after")))
    assert "s3cret" not in trail and "relcal@" not in trail
    assert "http://127.0.0.1:8065/" in trail


# --- What the operator is told -------------------------------------------------------------------


def test_a_closed_port_reads_could_not_connect(admin, payments, allow_private, closed_port):
    hook = create(admin, payments, f"http://127.0.0.1:{closed_port}/hook")
    assert webhooks.webhook_test(actor=admin, webhook=hook) == "could not connect"


def test_a_port_that_never_answers_reads_timed_out(
    admin, payments, allow_private, silent_port, settings
):
    settings.RELCAL_WEBHOOK_TIMEOUT = 1
    hook = create(admin, payments, f"http://127.0.0.1:{silent_port.getsockname()[1]}/hook")
    assert webhooks.webhook_test(actor=admin, webhook=hook) == "timed out"


def test_an_error_answer_reads_its_status(admin, payments, allow_private, failing_receiver):
    hook = create(admin, payments, f"http://127.0.0.1:{failing_receiver.port}/hook")
    assert webhooks.webhook_test(actor=admin, webhook=hook) == "HTTP 500"


def test_a_name_that_does_not_resolve_reads_could_not_connect(admin, payments):
    hook = create(admin, payments, "http://no-such-host.invalid/hook")
    assert webhooks.webhook_test(actor=admin, webhook=hook) == "could not connect"


def test_the_admin_test_message_shows_no_socket_error(
    client, manager, payments, allow_private, closed_port
):
    manager.is_staff = True
    manager.save()
    client.login(username="manager", password=PASSWORD)
    hook = create(manager, payments, f"http://127.0.0.1:{closed_port}/hook")
    response = client.post(
        "/admin/relcal/webhook/",
        {"action": "send_test", "_selected_action": [hook.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "#payments (Payments): could not connect" in page
    assert "refused" not in page.lower() and "Errno" not in page


# --- The SLO Prometheus URL ----------------------------------------------------------------------


def prometheus_slo(url: str) -> SLO:
    return SLO(
        source=SLISource.PROMETHEUS,
        prometheus_url=url,
        error_ratio_query='sum(rate(http_requests_total{code=~"5.."}[$window]))',
    )


def test_an_slo_may_not_read_from_a_metadata_address(settings):
    settings.RELCAL_PROMETHEUS_ALLOW_PRIVATE = True
    with pytest.raises(ValidationError) as refused:
        prometheus.check_queries(prometheus_slo("http://169.254.169.254:9090"))
    assert (
        "Link-local and cloud metadata addresses are not allowed"
        in (refused.value.message_dict["prometheus_url"][0])
    )


def test_a_private_prometheus_is_refused_when_the_setting_says_so(settings, silent_port):
    settings.RELCAL_PROMETHEUS_ALLOW_PRIVATE = False
    url = f"http://127.0.0.1:{silent_port.getsockname()[1]}"
    with pytest.raises(prometheus.Unreachable, match="Loopback and private network"):
        prometheus.query(url, "vector(1)")
    silent_port.settimeout(0)
    with pytest.raises(BlockingIOError):
        silent_port.accept()  # nobody knocked
