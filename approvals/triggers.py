"""Append-only tables: the database itself refuses to change or remove audit events and
sign-offs (invariant 4), whatever code or person connects.

PostgreSQL: row triggers refuse UPDATE and DELETE; a statement trigger refuses TRUNCATE.
SQLite: row triggers refuse UPDATE and DELETE (SQLite has no TRUNCATE).

The one exception is wiping a *test* database between tests. pytest-django's transactional tests
(``django_db(transaction=True)``, ``live_server``) empty every table after each test with
Django's ``flush`` command: ``TRUNCATE`` on PostgreSQL, ``DELETE FROM`` on SQLite. The triggers
let that purge through only when the session asks for it explicitly:

- PostgreSQL: the TRUNCATE trigger passes when the session setting ``relcal.allow_purge`` is
  ``on``. UPDATE and DELETE are refused regardless.
- SQLite: the DELETE trigger passes when the SQL function ``relcal_allow_purge()`` returns 1.
  Relcal registers that function on every connection it opens, returning 0 unless the
  connection's ``relcal_allow_purge`` attribute is set; any other client (the sqlite3 shell)
  lacks the function, so its DELETE fails.

Only ``approvals/management/commands/flush.py`` turns the switch on, and only for a database
Django created for tests (named ``test_…``, or in-memory SQLite). A production ``manage.py
flush`` is refused by the triggers.

What the triggers do not stop: someone who owns the tables can drop the triggers, or set the
switch by hand. They exist so that no code path, admin action or careless SQL session alters
history; the hash chain (``manage.py verify_audit``) is what proves nobody did it deliberately,
and keeping the printed head outside the database proves the newest events were not cut off.
Production may add a further wall: a database role for the app without TRUNCATE, UPDATE and
DELETE on these two tables.

Note for later migrations: on SQLite, Django rebuilds a table to alter it, and the rebuilt table
has no triggers. A migration that alters either table must call ``install`` again afterwards
(``tests/approvals/test_append_only.py`` fails when the triggers are missing).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.creation import TEST_DATABASE_PREFIX

TABLES = ("approvals_auditevent", "approvals_signoff")
SETTING = "relcal.allow_purge"
SQLITE_SWITCH = "relcal_allow_purge"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION relcal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('{SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'Audit events and sign-offs are never changed or removed.';
END;
$$;
"""


def _postgres_install(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION relcal_append_only();",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION relcal_append_only();",
    ]


def _sqlite_install(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update;",
        f"DROP TRIGGER IF EXISTS {table}_no_delete;",
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
        f"SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"WHEN NOT {SQLITE_SWITCH}() BEGIN "
        f"SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;",
    ]


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [POSTGRES_FUNCTION, *(sql for table in TABLES for sql in _postgres_install(table))]
    if vendor == "sqlite":
        return [sql for table in TABLES for sql in _sqlite_install(table)]
    return []


def uninstall_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        drops = [
            f"DROP TRIGGER IF EXISTS {table}_{name} ON {table};"
            for table in TABLES
            for name in ("append_only", "no_truncate")
        ]
        return [*drops, "DROP FUNCTION IF EXISTS relcal_append_only();"]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_{name};"
            for table in TABLES
            for name in ("no_update", "no_delete")
        ]
    return []


def install(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for sql in install_sql(connection.vendor):
            cursor.execute(sql)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for sql in uninstall_sql(connection.vendor):
            cursor.execute(sql)


def installed(connection: BaseDatabaseWrapper) -> list[str]:
    """The names of the append-only triggers present (empty on other databases)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid::regclass::text = ANY(%s)",
                [list(TABLES)],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                list(TABLES),
            )
        else:
            return []
        return sorted(row[0] for row in cursor.fetchall())


def expected(connection: BaseDatabaseWrapper) -> list[str]:
    names = {
        "postgresql": ("append_only", "no_truncate"),
        "sqlite": ("no_update", "no_delete"),
    }.get(connection.vendor, ())
    return sorted(f"{table}_{name}" for table in TABLES for name in names)


# --- The purge switch (test databases only) --------------------------------------------------


def install_sqlite_switch(connection: BaseDatabaseWrapper) -> None:
    def allowed() -> int:
        return 1 if getattr(connection, "relcal_allow_purge", False) else 0

    connection.connection.create_function(SQLITE_SWITCH, 0, allowed)


def is_test_database(connection: BaseDatabaseWrapper) -> bool:
    """A database Django's test runner made: ``test_…`` (or its TEST NAME), or in-memory."""
    settings = connection.settings_dict
    name = str(settings.get("NAME") or "")
    test_name = (settings.get("TEST") or {}).get("NAME")
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db():
            return True
        name = os.path.basename(name)
    return name.startswith(TEST_DATABASE_PREFIX) or (bool(test_name) and name == test_name)


@contextmanager
def purge_allowed(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Let this connection empty the append-only tables for the duration of the block."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET {SETTING} = 'on'")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"RESET {SETTING}")
    else:
        connection.ensure_connection()
        connection.relcal_allow_purge = True
        try:
            yield
        finally:
            connection.relcal_allow_purge = False
