"""Reliability fixtures: a real Prometheus with 29 days of backfilled request counters, services
and SLOs, a TCP server that never answers, and a closed port.

Tests needing Prometheus skip when it is not installed, unless ``RELCAL_REQUIRE_PROMETHEUS=1``
(CI), where they fail instead.

The backfilled services (``tests.reliability.history``; 100 requests a second each, objective
99.9 %, so a burn rate of 1 is 0.1 requests a second failing):

==========  =========================================  ==========================
service     errors a second                            expected
==========  =========================================  ==========================
burning     0.01 (0.1×), 2 (20×) in the last hour      page; healthy (87 % left)
sixhours    0.01 (0.1×), 0.7 (7×) in the last 6 hours  page (6× rule); healthy
slow-burn   0, 0.15 (1.5×) in the last 3 days          ticket; healthy
at-risk     0.08 (0.8×)                                no alert; at risk (20 % left)
exhausted   0.2 (2×)                                   ticket; exhausted (-100 %)
healthy     0.05 (0.5×)                                no alert; healthy (50 % left)
==========  =========================================  ==========================
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from releases.models import Team
from reliability.models import SLO, Service, SLISource
from tests import prometheus as harness
from tests.reliability import history

BACKFILLED = {
    "burning": {"errors": 0.01, "bursts": [(timedelta(hours=1), 2.0)]},
    "sixhours": {"errors": 0.01, "bursts": [(timedelta(hours=6), 0.7)]},
    "slow-burn": {"errors": 0.0, "bursts": [(timedelta(days=3), 0.15)]},
    "at-risk": {"errors": 0.08},
    "exhausted": {"errors": 0.2},
    "healthy": {"errors": 0.05},
}


def require_prometheus() -> None:
    if harness.AVAILABLE:
        return
    message = "Prometheus is not installed (apt-get install -y prometheus)"
    if os.environ.get("RELCAL_REQUIRE_PROMETHEUS") == "1":
        pytest.fail(message + " and RELCAL_REQUIRE_PROMETHEUS=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def prometheus_history() -> Iterator[harness.PrometheusServer]:
    """One Prometheus for the session, holding the backfilled services above (ending at
    ``history.END``)."""
    require_prometheus()
    series: dict = {}
    for service, rates in BACKFILLED.items():
        series.update(history.requests_history(service, **rates))
    with harness.PrometheusServer(history=series) as server:
        yield server


@pytest.fixture
def prometheus_server(prometheus_history, settings) -> harness.PrometheusServer:
    """The session's Prometheus, configured as ``RELCAL_PROMETHEUS_URL``."""
    settings.RELCAL_PROMETHEUS_URL = prometheus_history.url
    settings.RELCAL_PROMETHEUS_TOKEN = ""
    return prometheus_history


@pytest.fixture
def service(payments) -> Service:
    return Service.objects.create(team=payments, name="Checkout", slug="checkout")


@pytest.fixture
def make_slo(service):
    """``make_slo(name="availability", **fields)``: an SLO of ``service`` (default 99.9 % over
    28 days, pushed measurements)."""

    def make(name: str = "availability", *, team: Team | None = None, **fields) -> SLO:
        owner = service
        if team is not None:
            owner, _ = Service.objects.get_or_create(
                team=team, name=f"{team.name} service", defaults={"slug": f"{team.slug}-svc"}
            )
        fields.setdefault("objective", Decimal("99.9"))
        fields.setdefault("source", SLISource.PUSHED)
        return SLO.objects.create(service=owner, name=name, **fields)

    return make


@pytest.fixture
def prometheus_slo(make_slo, prometheus_server):
    """``prometheus_slo(service_name, ratio=False, **fields)``: an SLO reading a backfilled
    service through good/total expressions (or its error ratio)."""

    def make(backfilled: str, *, ratio: bool = False, **fields) -> SLO:
        if ratio:
            fields.setdefault("error_ratio_query", history.ratio_query(backfilled))
        else:
            for field, expression in history.queries(backfilled).items():
                fields.setdefault(field, expression)
        return make_slo(backfilled, source=SLISource.PROMETHEUS, **fields)

    return make


class SilentServer:
    """A TCP server that accepts connections, keeps what they send, and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self.received = bytearray()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)
            connection.settimeout(2)
            with contextlib.suppress(OSError):
                self.received += connection.recv(65536)

    def close(self) -> None:
        self.sock.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_server(settings) -> Iterator[SilentServer]:
    """A Prometheus URL that never answers, with a 1-second timeout."""
    settings.RELCAL_PROMETHEUS_TIMEOUT = 1
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def closed_port() -> str:
    """The URL of a port nothing listens on."""
    return f"http://127.0.0.1:{harness.free_port()}"
