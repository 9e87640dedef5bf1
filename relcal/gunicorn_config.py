"""gunicorn settings for /metrics with several workers:
``gunicorn relcal.wsgi -c python:relcal.gunicorn_config --workers 4 ...``.

With ``PROMETHEUS_MULTIPROC_DIR`` set, every worker writes its counters to files in that folder
and a scrape, answered by any one worker, adds up all of them. The files of the previous run
must go before the first worker starts, or its counts would carry over into this one.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import multiprocess


def on_starting(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        # Only prometheus_client's own files: the folder may have been pointed anywhere.
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Drops a dead worker's live gauges; its counters stay in the sums.
        multiprocess.mark_process_dead(worker.pid)
