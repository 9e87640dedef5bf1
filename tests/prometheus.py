"""A real Prometheus server for the tests and benchmarks: Debian's ``prometheus`` package
started on a free port with a temporary data folder, with deterministic history backfilled by
``promtool tsdb create-blocks-from openmetrics`` and, optionally, live scrape targets.

    with PrometheusServer(history=counters, scrape=["127.0.0.1:8000"]) as prom:
        requests.get(prom.url + "/api/v1/query", params={"query": "up"})

``history`` maps a series (``'http_requests_total{service="api",code="200"}'``) to its samples
``[(datetime, value), ...]``; ``counter_history`` builds those for a steady rate of events.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import requests

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
AVAILABLE = bool(PROMETHEUS and PROMTOOL)

Samples = Sequence[tuple[datetime, float]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def counter_history(
    *,
    end: datetime,
    span: timedelta,
    step: timedelta,
    rate_per_second: float | None = None,
    rates: Iterable[tuple[timedelta, float]] = (),
    start_value: float = 0.0,
) -> list[tuple[datetime, float]]:
    """Samples of a counter over ``[end - span, end]`` every ``step``, growing by
    ``rate_per_second``; ``rates`` overrides that rate for the last ``timedelta`` before ``end``
    (e.g. ``[(timedelta(hours=1), 20.0)]``: 20 a second in the last hour). Later overrides of
    shorter spans win."""
    overrides = sorted(rates, key=lambda pair: pair[0], reverse=True)
    samples = []
    value = start_value
    moment = end - span
    while moment <= end:
        samples.append((moment, value))
        rate = rate_per_second or 0.0
        for last, override in overrides:
            if moment >= end - last:
                rate = override
        value += rate * step.total_seconds()
        moment += step
    return samples


def openmetrics(history: Mapping[str, Samples]) -> str:
    """The OpenMetrics text promtool backfills from: each series' samples, with a TYPE line
    per metric family (gauges: ``rate()`` reads them like counters)."""
    lines = []
    families: dict[str, list[str]] = {}
    for series, samples in history.items():
        name = series.split("{", 1)[0]
        families.setdefault(name, []).extend(
            f"{series} {value:.6f} {moment.timestamp():.3f}" for moment, value in samples
        )
    for name, samples in families.items():
        lines.append(f"# TYPE {name} gauge")
        lines.extend(sorted(samples, key=lambda line: float(line.rsplit(" ", 1)[1])))
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


class PrometheusServer:
    def __init__(
        self,
        *,
        history: Mapping[str, Samples] | None = None,
        scrape: Sequence[str] = (),
        metrics_path: str = "/metrics",
        scrape_interval: str = "1s",
        bearer_token: str = "",
    ) -> None:
        self.history = history or {}
        self.scrape = list(scrape)
        self.metrics_path = metrics_path
        self.scrape_interval = scrape_interval
        self.bearer_token = bearer_token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="relcal-prometheus-"))
        self.process: subprocess.Popen | None = None

    def _config(self) -> str:
        lines = ["global:", f"  scrape_interval: {self.scrape_interval}", "scrape_configs:"]
        if self.scrape:
            lines += [
                "  - job_name: relcal",
                f"    metrics_path: {self.metrics_path}",
                f"    scrape_interval: {self.scrape_interval}",
            ]
            if self.bearer_token:
                lines += ["    authorization:", f"      credentials: {self.bearer_token}"]
            lines += ["    static_configs:", f"      - targets: {self.scrape!r}"]
        else:
            lines[-1] = "scrape_configs: []"
        return "\n".join(lines) + "\n"

    def _backfill(self, data: Path) -> None:
        source = self.folder / "history.om"
        source.write_text(openmetrics(self.history))
        subprocess.run(
            [
                PROMTOOL,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "--max-block-duration=24h",
                str(source),
                str(data),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        source.unlink()

    def start(self) -> PrometheusServer:
        if not AVAILABLE:
            raise RuntimeError("Prometheus is not installed: apt-get install prometheus")
        data = self.folder / "data"
        data.mkdir()
        if self.history:
            self._backfill(data)
        config = self.folder / "prometheus.yml"
        config.write_text(self._config())
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=400d",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "prometheus.log", "wb"),  # noqa: SIM115 (closed with the process)
            env={**os.environ, "GOMAXPROCS": "2"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Prometheus exited: {self.log()}")
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Prometheus did not become ready: {self.log()}")

    def log(self) -> str:
        path = self.folder / "prometheus.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def query(self, expression: str) -> list:
        answer = requests.get(self.url + "/api/v1/query", params={"query": expression}, timeout=10)
        answer.raise_for_status()
        return answer.json()["data"]["result"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
