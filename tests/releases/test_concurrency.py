"""Concurrent writers cannot together break an invariant that each alone respects."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from releases import services
from releases.models import ReleaseDependency


def _run_together(*calls):
    """Run each call in its own thread (own database connection), released at once."""
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
        thread.join(timeout=30)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_writers_cannot_close_a_cycle_between_them(make_release, manager):
    for _ in range(5):
        a, b, c = make_release(), make_release(), make_release()
        services.dependency_create(actor=manager, release=a, depends_on=b)
        # Each of these is fine alone; together they would make a → b → c → a.
        outcomes = _run_together(
            lambda b=b, c=c: services.dependency_create(actor=manager, release=b, depends_on=c),
            lambda a=a, c=c: services.dependency_create(actor=manager, release=c, depends_on=a),
        )
        refused = [o for o in outcomes if isinstance(o, ValidationError)]
        created = [o for o in outcomes if isinstance(o, ReleaseDependency)]
        assert len(created) == 1, outcomes
        assert len(refused) == 1, outcomes
        assert "would make the cycle" in refused[0].message_dict["depends_on"][0]
