"""Benchmark: a feed's 304 under gunicorn against a static file, at 10 and 10,000 releases.

Run from the project root (PostgreSQL and Redis on this machine):

    .venv/bin/python bench/feed_304.py                      # 10 and 10,000 releases
    .venv/bin/python bench/feed_304.py --sizes 10 2000      # a quicker run

Issue 16, item 2: calendar clients poll, and nearly every answer is a 304; at 10,000 releases
(3,336 awaiting sign-off) a 304 took 150 ms and two workers answered 7-8 polls a second. Per
size, in a child process on a scratch PostgreSQL database (``relcal_bench_feed_304`` on the
server of ``BENCH_POSTGRES_URL``, created and dropped again):

1. builds the data: at 10 releases, 10 awaiting sign-off; at 10,000, the history of
   ``feed_history.py`` (releases over two years and three months ahead, two milestones each,
   500 freezes, 10,000 bookings) and a third of the releases (3,336) awaiting sign-off, each
   with three scope items, a go/no-go and a code-freeze milestone (so a verdict to fingerprint),
   a dependency, two required roles and a sign-off; a superuser's master feed token;
2. runs gunicorn (``--workers 2``, sync, ``DEBUG`` off, static files collected and served by
   whitenoise) twice: first with the feeds' fingerprint cache off (``RELCAL_FEED_CACHE=0``: the
   aggregates on every request), then on, with ``CACHE_URL`` pointing at Redis
   (``BENCH_CACHE_URL``, default ``redis://127.0.0.1:6379/11``);
3. with ``--clients`` (8) concurrent client processes, each sending its next request as soon as
   the last is answered for ``--seconds`` (10), measures answers per second of: the master feed
   with a matching ``If-None-Match`` (304), a static file as large as that whole 304 answer
   (status line and headers; 200), and the same static file with a matching ``If-None-Match``
   (whitenoise's own 304). Rounds alternate between them (``--rounds``, 3) so that load from
   elsewhere falls on all alike; medians of the rounds.

Target: with the cache, the feed's 304 throughput at least 25% of the static file's at every
size. Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness
import readiness  # its gunicorn helpers

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_bench_feed_304"
DEFAULT_CACHE = "redis://127.0.0.1:6379/11"
WORKERS = 2
TARGET = 0.25
STATIC_NAME = "bench-feed-304.txt"


# --- Data ----------------------------------------------------------------------------------------


def _build(releases: int) -> str:
    """The data for ``releases`` releases; returns a superuser's master feed token."""
    import feed_history
    from django.contrib.auth.models import User

    from calendars import tokens

    admin = User.objects.create_superuser("bench", "bench@example.com", "x")
    awaiting = releases if releases <= 10 else releases // 3 + 3
    if releases > awaiting:
        feed_history._fill_history(releases - awaiting)
    feed_history._add_awaiting(awaiting, admin)
    return tokens.feed_token_create(actor=admin, name="master")[1]


# --- Clients -------------------------------------------------------------------------------------


def _request(port: int, path: str, etag: str = "") -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if etag:
        lines.append(f"If-None-Match: {etag}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _exchange(port: int, request: bytes) -> bytes:
    """One request over a new connection (gunicorn's sync workers close it after answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _client(port: int, request: bytes, status: bytes, seconds: float, out) -> None:
    answered, wrong, latencies = 0, 0, []
    stop = time.perf_counter() + seconds
    while (start := time.perf_counter()) < stop:
        try:
            answer = _exchange(port, request)
        except OSError:
            wrong += 1
            continue
        latencies.append(time.perf_counter() - start)
        if answer.startswith(status):
            answered += 1
        else:
            wrong += 1
    out.put((answered, wrong, latencies))


def _load(port: int, request: bytes, status: bytes, clients: int, seconds: float) -> dict:
    """Answers per second from ``clients`` processes, each sending its next request as soon as
    the last is answered, for ``seconds``."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    workers = [
        context.Process(target=_client, args=(port, request, status, seconds, out))
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for _, _, values in results for latency in values)
    return {
        "per_s": sum(answered for answered, _, _ in results) / elapsed,
        "wrong": sum(wrong for _, wrong, _ in results),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
    }


# --- The server ----------------------------------------------------------------------------------


class Server:
    """gunicorn on the scratch database, ``DEBUG`` off, static files collected."""

    def __init__(self, database_url: str, var_dir: str, *, cache: bool):
        self.port = readiness._free_port()
        self.log = Path(var_dir) / f"gunicorn-{'cache' if cache else 'plain'}.log"
        self.environ = {
            **os.environ,
            **_environ(database_url, var_dir),
            "RELCAL_FEED_CACHE": "1" if cache else "0",
        }

    def __enter__(self) -> Server:
        command = [readiness._gunicorn(), "relcal.wsgi", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", str(WORKERS), "--log-level", "warning"]
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                command, cwd=harness.ROOT, env=self.environ, stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                _exchange(self.port, _request(self.port, "/healthz"))
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer in 60 s:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _environ(database_url: str, var_dir: str) -> dict:
    return {
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-feed-304-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(Path(var_dir) / "static"),
        "RELCAL_VAR_DIR": var_dir,
        "CACHE_URL": os.environ.get("BENCH_CACHE_URL", DEFAULT_CACHE),
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_SETTINGS_MODULE": "relcal.settings",
        "LOG_LEVEL": "WARNING",
    }


def _status(answer: bytes) -> bytes:
    return answer.split(b"\r\n", 1)[0]


def _etag(answer: bytes) -> str:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "etag":
            return value.strip()
    raise RuntimeError(f"no ETag in:\n{head}")


def _serve(database_url: str, var_dir: str, raw: str, args) -> dict:
    from django.db import connections

    connections.close_all()  # the server's workers get the database to themselves
    feed = f"/feeds/{raw}.ics"
    results: dict = {}
    with Server(database_url, var_dir, cache=False) as server:
        full = _exchange(server.port, _request(server.port, feed))
        assert _status(full) == b"HTTP/1.1 200 OK", _status(full)
        etag = _etag(full)
        not_modified = _exchange(server.port, _request(server.port, feed, etag))
        assert _status(not_modified) == b"HTTP/1.1 304 Not Modified", _status(not_modified)
        results["feed_bytes"] = len(full)
        results["answer_bytes"] = len(not_modified)
        request = _request(server.port, feed, etag)
        results["plain"] = _load(server.port, request, b"HTTP/1.1 304", args.clients, args.seconds)
    # A static file as large as the whole 304 answer; whitenoise finds it when it starts.
    (Path(var_dir) / "static" / STATIC_NAME).write_bytes(b"x" * results["answer_bytes"])
    static = f"/static/{STATIC_NAME}"
    rounds: dict[str, list[dict]] = {"feed": [], "static": [], "static_304": []}
    with Server(database_url, var_dir, cache=True) as server:
        answer = _exchange(server.port, _request(server.port, static))
        assert _status(answer) == b"HTTP/1.1 200 OK", answer[:300]
        static_etag = _etag(answer)
        results["static_bytes"] = len(answer)
        calls = {
            "feed": (_request(server.port, feed, etag), b"HTTP/1.1 304"),
            "static": (_request(server.port, static), b"HTTP/1.1 200"),
            "static_304": (_request(server.port, static, static_etag), b"HTTP/1.1 304"),
        }
        _exchange(server.port, calls["feed"][0])  # the first computes and caches
        for _ in range(args.rounds):
            for name, (request, status) in calls.items():
                rounds[name].append(_load(server.port, request, status, args.clients, args.seconds))
    for name, runs in rounds.items():
        results[name] = {
            "per_s": statistics.median(run["per_s"] for run in runs),
            "p50_ms": statistics.median(run["p50_ms"] for run in runs),
            "wrong": sum(run["wrong"] for run in runs),
            "rounds": [round(run["per_s"], 1) for run in runs],
        }
    return results


def _child(database_url: str, releases: int, args) -> None:
    with tempfile.TemporaryDirectory(prefix="relcal-feed-304-") as var_dir:
        environ = _environ(database_url, var_dir)
        harness.setup_django(database_url, **environ)
        raw = _build(releases)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            check=True,
            cwd=harness.ROOT,
            env={**os.environ, **environ},
        )
        results = _serve(database_url, var_dir, raw, args)
    results["releases"] = releases
    print(json.dumps(results))


# --- Report --------------------------------------------------------------------------------------


def _cell(figures: dict) -> str:
    return f"{figures['per_s']:,.0f}/s ({figures['p50_ms']:,.1f} ms)"


def _report(all_results: list[dict]) -> bool:
    ok = True
    print(
        f"\nPostgreSQL, gunicorn --workers {WORKERS} (sync), DEBUG off; answers per second "
        "(median of the rounds), p50 latency"
    )
    header = (
        "| releases | feed 304, no cache | feed 304, cache | static file 200 "
        "| static file 304 | **cache / static 200** | cache / static 304 |"
    )
    print(header)
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in all_results:
        ratio = r["feed"]["per_s"] / r["static"]["per_s"]
        ratio_304 = r["feed"]["per_s"] / r["static_304"]["per_s"]
        ok &= ratio >= TARGET and not any(r[k]["wrong"] for k in ("feed", "static", "static_304"))

        print(
            f"| {r['releases']:,} | {_cell(r['plain'])} | {_cell(r['feed'])} "
            f"| {_cell(r['static'])} | {_cell(r['static_304'])} "
            f"| **{ratio:.0%}** | {ratio_304:.0%} |"
        )
    for r in all_results:
        print(
            f"{r['releases']:,} releases: feed {r['feed_bytes'] / 1e6:.2f} MB; 304 answer "
            f"{r['answer_bytes']} bytes, static answer {r['static_bytes']} bytes; rounds/s "
            f"feed {r['feed']['rounds']}, static {r['static']['rounds']}, static 304 "
            f"{r['static_304']['rounds']}; wrong answers "
            f"{sum(r[k]['wrong'] for k in ('plain', 'feed', 'static', 'static_304'))}"
        )
    print(
        f"\nTarget: the cached 304 at least {TARGET:.0%} of the static file's 200: "
        f"{'met' if ok else 'MISSED'}"
    )
    return ok


def _parser():
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 10_000])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    return parser


def main() -> int:
    args = _parser().parse_args()
    if args.child:
        database_url, releases = args.child
        _child(database_url, int(releases), args)
        return 0
    postgres = harness.postgres_url(DEFAULT_POSTGRES)
    results = []
    for releases in args.sizes:
        with harness.scratch_database("postgresql", postgres) as url:
            extra = ["--clients", str(args.clients), "--seconds", str(args.seconds)]
            extra += ["--rounds", str(args.rounds)]
            results.append(harness.run_child(__file__, "--child", url, str(releases), *extra))
    return 0 if _report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
