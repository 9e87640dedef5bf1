"""`make run`'s last step: web, worker and beat in one command that stops cleanly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from relcal.management.commands.rundev import site_url_for

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """One migrated SQLite database for the module; each test runs on a copy of it."""
    folder = tmp_path_factory.mktemp("migrated")
    env = {**os.environ, "RELCAL_VAR_DIR": str(folder), "DATABASE_URL": "", "DEBUG": "1"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return folder / "relcal.sqlite3"


@pytest.fixture
def var_dir(tmp_path, migrated) -> Path:
    shutil.copy(migrated, tmp_path / "relcal.sqlite3")
    return tmp_path


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(line) for line in out.stdout.split()]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_it_serves_and_stops_everything_on_a_signal(var_dir, signum):
    env = {
        **os.environ,
        "RELCAL_VAR_DIR": str(var_dir),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "DEBUG": "1",
        "SITE_URL": "",
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rundev", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and health is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.load(r)
            except OSError:
                time.sleep(0.5)
        assert health == {
            "status": "ok",
            "database": {"ok": True, "detail": "sqlite"},
            "broker": {"ok": True, "detail": "filesystem"},
        }
        children = _children(process.pid)
        assert len(children) == 2  # the web server and the worker (with beat inside)
        # Both build links from SITE_URL, which follows the port when it is not set.
        for child in children:
            assert f"SITE_URL=http://127.0.0.1:{port}" in _environ(child)

        process.send_signal(signum)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert f"Relcal is starting at http://127.0.0.1:{port}/" in output
        assert f"Links in feeds and e-mails start with http://127.0.0.1:{port}/" in output
        for child in children:
            assert not Path(f"/proc/{child}").exists() or _is_zombie(child)
    finally:
        if process.poll() is None:
            process.kill()


def test_it_keeps_a_site_url_that_is_set(var_dir):
    env = {
        **os.environ,
        "RELCAL_VAR_DIR": str(var_dir),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "DEBUG": "1",
        "SITE_URL": "https://relcal.example.com",
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rundev", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        children = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(children) < 2:
            time.sleep(0.3)
            children = _children(process.pid)
        assert len(children) == 2
        for child in children:
            assert "SITE_URL=https://relcal.example.com" in _environ(child)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert f"Relcal is starting at http://127.0.0.1:{port}/" in output
        assert "Links in feeds and e-mails start with https://relcal.example.com/" in output
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize(
    ("addrport", "url"),
    [
        ("8080", "http://127.0.0.1:8080"),
        ("127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("localhost:9000", "http://localhost:9000"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("0:8080", "http://127.0.0.1:8080"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("[::]:8080", "http://127.0.0.1:8080"),
    ],
)
def test_site_url_follows_the_address_and_port(addrport, url):
    assert site_url_for(addrport) == url


def _environ(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/environ").read_text().split("\0")


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
