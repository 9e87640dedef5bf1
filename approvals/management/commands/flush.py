"""Django's ``flush``, able to empty the append-only tables of a *test* database.

pytest-django (and Django's test runner) flush the test database after each transactional test;
the append-only triggers would refuse that. Here the flush gets through (PostgreSQL: its
TRUNCATE triggers disabled inside the flush's transaction, which needs the tables' owner;
SQLite: the connection's purge switch), and only when the database is one Django made for tests
(see ``approvals.triggers``). On any other database ``flush`` behaves as Django's and the
triggers refuse to empty the audit trail and the sign-offs.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.core.management.commands import flush
from django.db import connections

from approvals import triggers


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        if triggers.is_test_database(connection):
            guard = triggers.purge_allowed(connection)
        else:
            guard = nullcontext()
        with guard:
            return super().handle(**options)
