"""`make run`'s last step: web, worker and beat in one command that stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(line) for line in out.stdout.split()]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_it_serves_and_stops_everything_on_a_signal(tmp_path, signum):
    env = {
        **os.environ,
        "RELCAL_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "DEBUG": "1",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
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

        process.send_signal(signum)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "Relcal is starting at http://127.0.0.1" in output
        for child in children:
            assert not Path(f"/proc/{child}").exists() or _is_zombie(child)
    finally:
        if process.poll() is None:
            process.kill()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
