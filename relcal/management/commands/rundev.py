"""Run the whole portal in one foreground command: web server, Celery worker and beat.

For development and demos on the embedded defaults (SQLite, filesystem broker). Production runs
gunicorn, ``celery worker`` and ``celery beat`` as separate processes (see the README).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server and a Celery worker with beat; Ctrl-C stops all of them."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        python = sys.executable
        commands = {
            "worker": [
                python,
                "-m",
                "celery",
                "--app",
                "relcal",
                "worker",
                "--beat",
                "--scheduler",
                settings.CELERY_BEAT_SCHEDULER,
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
            ],
            "web": [python, "manage.py", "runserver", "--noreload", addrport],
        }
        local_url = site_url_for(addrport)
        child_env = dict(os.environ)
        if os.environ.get("SITE_URL") or "SITE_URL_FILE" in os.environ:
            site_url = settings.SITE_URL
        else:
            # Feed, e-mail and Subscribe links are built from SITE_URL in the web server and the
            # worker alike; left at its default they would point at port 8000 on any other port.
            site_url = child_env["SITE_URL"] = local_url
        self.stdout.write(
            self.style.SUCCESS(f"\nRelcal is starting at {local_url}/\n")
            + f"Links in feeds and e-mails start with {site_url}/ (SITE_URL).\n"
            + "Demo logins (password relcal-demo): admin, manager, product, legal, security, "
            "alice, bob\nAdmin: /admin/   API docs: /api/v1/docs/   Ctrl-C stops everything.\n"
        )
        # Started in the background, a shell hands us SIGINT ignored; take it (and SIGTERM)
        # back so that Ctrl-C and `kill` both stop everything.
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.append(True))
        processes = {
            name: subprocess.Popen(cmd, preexec_fn=_default_signals, env=child_env)
            for name, cmd in commands.items()
        }
        try:
            # Stop everything as soon as one part dies, so a broken worker is not missed.
            while not stopping and all(p.poll() is None for p in processes.values()):
                time.sleep(0.3)
        finally:
            self._stop(processes)
        if not stopping:
            failed = ", ".join(name for name, p in processes.items() if p.returncode is not None)
            self.stderr.write(f"Stopped because {failed} exited.")

    def _stop(self, processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()  # SIGTERM: Celery's warm shutdown, runserver's exit
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def site_url_for(addrport: str) -> str:
    """The URL runserver will answer on for ``addrport`` (``PORT``, ``ADDR:PORT``, ``[IPv6]:PORT``).

    A wildcard address (``0.0.0.0``, ``::``) is not somewhere a link can point: such links use
    127.0.0.1, and a portal reached by another name sets ``SITE_URL`` itself.
    """
    addr, _, port = addrport.rpartition(":")
    if addr in ("", "0", "0.0.0.0", "[::]"):
        addr = "127.0.0.1"
    return f"http://{addr}:{port}"


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
