"""What the benchmarks in ``bench/`` share: Django on a throwaway database, a process per database.

A benchmark script is both the parent and the child. The parent parses ``--only`` (see
``argument_parser`` and ``backends``), runs the script again per database with ``run_child``
and prints the figures; the child builds its data on a scratch database (``scratch_database``:
a temporary SQLite file, or a PostgreSQL database created and dropped again on the server of
``BENCH_POSTGRES_URL``), sets Django up on it (``setup_django``), measures, and prints its results
as one JSON line. A process per database because Django reads its settings, and so
``DATABASES``, once.

Importing this module puts the project root (``ROOT``) on ``sys.path``, so that a script run as
``.venv/bin/python bench/NAME.py`` can import the project's packages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- Command line and child processes ------------------------------------------------------------


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with ``--only sqlite|postgresql``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--only", choices=BACKENDS)
    return parser


def backends(only: str | None) -> list[str]:
    """The databases to measure: ``only``, or both."""
    return [only] if only else list(BACKENDS)


def run_child(script: str, *args: str) -> dict[str, Any]:
    """Run ``script`` with ``args`` in a new interpreter from ``ROOT`` and return the last line
    of its output, read as JSON. A child that fails raises ``CalledProcessError``."""
    output = subprocess.run(
        [sys.executable, script, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- Databases -----------------------------------------------------------------------------------


def postgres_url(default: str) -> str:
    """The scratch PostgreSQL database's URL: ``BENCH_POSTGRES_URL``, else ``default``."""
    return os.environ.get("BENCH_POSTGRES_URL", default)


def setup_django(database_url: str, **environ: str) -> None:
    """Configure Django for ``database_url`` (and the ``environ`` variables), then migrate."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.update(environ)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relcal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def admin_connection(url: str) -> tuple[psycopg.Connection, str]:
    """An autocommit connection to the ``postgres`` database of ``url``'s server, and the name
    of ``url``'s database."""
    import psycopg

    server, name = url.rsplit("/", 1)
    return psycopg.connect(f"{server}/postgres", autocommit=True), name


def recreate_postgres(url: str) -> None:
    """Create the database of ``url``, empty (dropping it first if it is left from a run)."""
    drop_postgres(url)
    connection, name = admin_connection(url)
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_postgres(url: str) -> None:
    """Drop the database of ``url``, if it exists, disconnecting whoever is still on it."""
    connection, name = admin_connection(url)
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(backend: str, postgres: str) -> Iterator[str]:
    """The URL of a throwaway database, removed on leaving the block: a file in a temporary
    folder for ``sqlite``, the database of ``postgres``, created empty, for ``postgresql``."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="relcal-bench-") as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    recreate_postgres(postgres)
    try:
        yield postgres
    finally:
        from django.conf import settings

        if settings.configured:  # Django set up in this process: let go of the database
            from django.db import connections

            connections.close_all()
        drop_postgres(postgres)


# --- Statistics ----------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """The 95th percentile of ``values`` (at least two)."""
    return statistics.quantiles(values, n=20)[-1]


def median_seconds(function: Callable[[], object], runs: int) -> float:
    """The median wall-clock time of ``runs`` calls of ``function``, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
