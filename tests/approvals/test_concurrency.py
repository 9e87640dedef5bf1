"""Concurrent writers append to one unbroken chain (PostgreSQL: an advisory lock serializes
appends), and concurrent sign-offs of one signer count once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from approvals import chain
from approvals.models import AuditEvent, SignOff
from releases import services

WRITERS = 8
CHANGES = 6


def run_together(*calls):
    """Each call in its own thread (own database connection), released at once."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_leave_one_unbroken_chain(make_release, manager):
    releases = [make_release() for _ in range(WRITERS)]
    before = AuditEvent.objects.count()

    def writer(release):
        def write():
            for number in range(CHANGES):
                services.release_update(
                    actor=manager, release=release, rollback_plan=f"Plan {number}"
                )
            return "ok"

        return write

    outcomes = run_together(*(writer(release) for release in releases))

    assert outcomes == ["ok"] * WRITERS
    assert AuditEvent.objects.count() == before + WRITERS * CHANGES
    report = chain.verify()
    assert report.broken is None, report.broken
    assert report.head_seq == before + WRITERS * CHANGES


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_signature_sent_twice_at_once_is_stored_once(frozen, priya, sign):
    release = frozen()
    outcomes = run_together(*(lambda: sign(priya, release, "product") for _ in range(4)))
    assert sum(isinstance(o, SignOff) for o in outcomes) == 1, outcomes
    assert SignOff.objects.count() == 1
    assert chain.verify().intact
