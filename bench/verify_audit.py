"""Benchmark: ``verify_audit``'s chain walk over 100,000 and 1,000,000 audit events.

Run from the project root:

    .venv/bin/python bench/verify_audit.py                  # SQLite and PostgreSQL
    .venv/bin/python bench/verify_audit.py --only sqlite --sizes 100000

Each database runs in a child process on a throwaway database: a temporary SQLite file, and a
scratch PostgreSQL database (``relcal_bench_audit`` on the server of ``BENCH_POSTGRES_URL``,
default ``postgres://postgres@127.0.0.1:5432/relcal_bench_audit``), created and dropped again.
The chain is generated in Python with the same canonical JSON and hashes ``relcal.audit``
writes (a mix of realistic events: updates, creations, transitions, sign-offs, with before and
after values), then bulk-inserted (executemany on SQLite, COPY on PostgreSQL); the larger size
extends the smaller one.

Figures per size:
- walk: ``approvals.chain.walk()``, what ``verify_audit`` does (read every row in ``seq`` order,
  rebuild its canonical JSON, hash, compare the links), in events per second;
- floor: hashing the very same canonical rows in a bare loop (``sha256(prev_hash + row)``, the
  strings prepared beforehand): the cost no verifier can avoid;
- read: reading the rows alone (no JSON, no hashing), to show where the rest goes.
The ratio walk / floor says how far the walk is from the floor.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta

import harness

from relcal.audit import HASHED_FIELDS

SIZES = (100_000, 1_000_000)
CHUNK = 20_000
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/relcal_bench_audit"
# The table's columns as the inserts list them: the fields the hash covers, then the links.
COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
JSON_COLUMNS = (COLUMNS.index("before"), COLUMNS.index("after"))  # stored as JSON text
TIMESTAMP = COLUMNS.index("timestamp")
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _event(seq: int) -> dict:
    """A plausible event: what the services write, in the proportions a busy portal would."""
    release = seq % 700 + 1
    kind = seq % 10
    if kind < 4:
        action, object_type, before, after = (
            "release.update",
            "releases.release",
            {"go_live": "2026-03-02T09:00:00Z", "rollback_plan": "Redeploy 4.2."},
            {"go_live": "2026-03-03T09:00:00Z", "rollback_plan": "Switch back to blue."},
        )
    elif kind < 7:
        action, object_type, before, after = (
            "milestone.create",
            "releases.milestone",
            None,
            {"id": seq, "release": release, "kind": "code_freeze", "title": "", "done": False,
             "date": "2026-02-20", "at": None, "sequence": 0, "updated_at": "2026-01-05T10:00:00Z"},
        )  # fmt: skip
    elif kind < 9:
        action, object_type, before, after = (
            "release.transition",
            "releases.release",
            {"state": "testing"},
            {"state": "approved", "reason": ""},
        )
    else:
        action, object_type, before, after = (
            "signoff.create",
            "approvals.signoff",
            None,
            {"role": "legal", "decision": "approve", "meaning": "legal_clearance",
             "signer": 4, "signer_name": "Leo Lindqvist", "comment": "",
             "fingerprint": hashlib.sha256(str(release).encode()).hexdigest()},
        )  # fmt: skip
    return {
        "seq": seq,
        "timestamp": BASE + timedelta(milliseconds=seq * 250),
        "actor_id": 2,
        "actor_name": "Maya Manning",
        "action": action,
        "object_type": object_type,
        "object_id": str(release if object_type == "releases.release" else seq),
        "object_repr": f"Payments {release}.0",
        "release_id": release,
        "before": before,
        "after": after,
        "request_id": f"{seq:032x}",
        "client_address": "10.0.4.17",
    }


def _generate(start_seq: int, count: int, prev_hash: str):
    """Chunks of (rows to insert, canonical strings, last hash), hashed as relcal.audit does."""
    from relcal.audit import canonical_json, event_payload, sha256

    seq, end = start_seq, start_seq + count
    while seq < end:
        rows, texts = [], []
        for number in range(seq, min(seq + CHUNK, end)):
            fields = _event(number)
            text = canonical_json(event_payload(fields))
            digest = sha256(prev_hash + text)
            rows.append((*(fields[c] for c in HASHED_FIELDS), prev_hash, digest))
            texts.append(text)
            prev_hash = digest
        yield rows, texts, prev_hash
        seq += CHUNK


def _insert(rows: list[tuple]) -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy = f"COPY approvals_auditevent ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(copy) as writer:
                for row in rows:
                    writer.write_row(
                        [json.dumps(v) if i in JSON_COLUMNS and v is not None else v
                         for i, v in enumerate(row)]
                    )  # fmt: skip
        return
    adapt = connection.ops.adapt_datetimefield_value
    prepared = [
        tuple(adapt(v) if i == TIMESTAMP else json.dumps(v)
              if i in JSON_COLUMNS and v is not None else v for i, v in enumerate(row))
        for row in rows
    ]  # fmt: skip
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO approvals_auditevent ({', '.join(COLUMNS)}) VALUES ({placeholders})",
            prepared,
        )


def _floor(texts: list[str], prev_hash: str) -> float:
    """Seconds to hash ``texts`` along the chain in a bare loop."""
    sha = hashlib.sha256
    began = time.perf_counter()
    for text in texts:
        prev_hash = sha((prev_hash + text).encode()).hexdigest()
    return time.perf_counter() - began


def _measure(sizes: list[int]) -> dict:
    from django.db import connection, transaction

    from approvals import chain
    from relcal.audit import GENESIS

    results = {}
    have, head, floor = 0, GENESIS, 0.0
    for size in sizes:
        began = time.perf_counter()
        for rows, texts, last in _generate(have + 1, size - have, head):
            floor += _floor(texts, head)
            with transaction.atomic():
                _insert(rows)
            head = last
        have = size
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        filled = time.perf_counter() - began

        began = time.perf_counter()
        report = chain.walk()
        walk = time.perf_counter() - began
        assert report.broken is None, report.broken
        assert (report.events, report.head_hash) == (size, head)

        began = time.perf_counter()
        for _row in chain.stored_rows():
            pass
        read = time.perf_counter() - began
        results[str(size)] = {
            "walk_s": walk,
            "floor_s": floor,
            "read_s": read,
            "fill_s": filled,
            "events_per_s": size / walk,
            "floor_events_per_s": size / floor,
            "ratio": walk / floor,
        }
        print(json.dumps({"progress": size, **results[str(size)]}), file=sys.stderr)
    return results


def _child(backend: str, sizes: list[int]) -> None:
    with harness.scratch_database(backend, harness.postgres_url(DEFAULT_POSTGRES)) as url:
        harness.setup_django(url)
        results = _measure(sizes)
    print(json.dumps(results))


def main() -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="e.g. 100000")
    parser.add_argument("--child", choices=harness.BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    if args.child:
        _child(args.child, sizes)
        return 0

    backends = harness.backends(args.only)
    # A process per database: Django's settings (and so DATABASES) are read once.
    results = {
        backend: harness.run_child(__file__, "--child", backend, "--sizes", args.sizes)
        for backend in backends
    }

    print(f"verify_audit chain walk; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}\n")
    print(
        f"{'':10}{'events':>11}{'walk s':>9}{'events/s':>11}{'floor s':>9}"
        f"{'floor ev/s':>12}{'ratio':>7}{'read s':>8}"
    )
    for backend in backends:
        for size in sizes:
            f = results[backend][str(size)]
            print(
                f"{backend:10}{size:>11,}{f['walk_s']:>9.1f}{f['events_per_s']:>11,.0f}"
                f"{f['floor_s']:>9.2f}{f['floor_events_per_s']:>12,.0f}{f['ratio']:>7.1f}"
                f"{f['read_s']:>8.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
