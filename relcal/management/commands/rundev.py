"""Run the whole portal in one foreground command: web server, Celery worker and beat.

For development and demos on the embedded defaults (SQLite, filesystem broker). Production runs
gunicorn, ``celery worker`` and ``celery beat`` as separate processes (see the README).
"""

from __future__ import annotations

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
        host = addrport if ":" in addrport else f"127.0.0.1:{addrport}"
        self.stdout.write(
            self.style.SUCCESS(f"\nRelcal is starting at http://{host}/\n")
            + "Demo logins (password relcal-demo): admin, manager, product, legal, security, "
            "alice, bob\nAdmin: /admin/   API docs: /api/v1/docs/   Ctrl-C stops everything.\n"
        )
        # Started in the background, a shell hands us SIGINT ignored; take it (and SIGTERM)
        # back so that Ctrl-C and `kill` both stop everything.
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.append(True))
        processes = {
            name: subprocess.Popen(cmd, preexec_fn=_default_signals)
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


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
