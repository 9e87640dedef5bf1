"""Append-only tables: the database itself refuses to change or remove audit events and
sign-offs (invariant 4), whatever code or person connects.

PostgreSQL: row triggers refuse UPDATE and DELETE; a statement trigger refuses TRUNCATE.
SQLite: row triggers refuse UPDATE and DELETE (SQLite has no TRUNCATE).

No session setting unlocks them. (Before migration ``0007_append_only_no_purge_switch`` the
TRUNCATE trigger let a purge through when the setting ``relcal.allow_purge`` was ``on``, which
any role with TRUNCATE could set in its own transaction, on any database.)

The one exception is wiping a *test* database between tests. pytest-django's transactional tests
(``django_db(transaction=True)``, ``live_server``) empty every table after each test with
Django's ``flush`` command: ``TRUNCATE`` on PostgreSQL, ``DELETE FROM`` on SQLite. Relcal's
``approvals/management/commands/flush.py`` lets that purge through only on a database Django
created for tests (named ``test_…``, or in-memory SQLite), with ``purge_allowed``:

- PostgreSQL: the TRUNCATE triggers are disabled (``ALTER TABLE … DISABLE TRIGGER``) inside the
  flush's transaction and enabled again before it commits; a failed flush rolls the disabling
  back with it. Disabling a trigger needs the table's *owner*, who can drop the triggers anyway,
  so this opens nothing a privilege did not already open. The alternatives were weighed and
  refused: a trigger that honours the setting when ``current_database()`` looks like a test
  database keeps a switch in production code and trusts a naming convention (a staging database
  called ``test_relcal`` would be open); a test-only variant of the guard function installed
  after the test database is migrated is undone by every test that migrates (django-test-
  migrations' ``migrator`` re-runs 0003), after which the flush fails.
- SQLite: the DELETE trigger passes when the SQL function ``relcal_allow_purge()`` returns 1.
  Relcal registers that function on every connection it opens, returning 0 unless the
  connection's ``relcal_allow_purge`` attribute is set; any other client (the sqlite3 shell)
  lacks the function, so its DELETE fails. (Whoever can open the file can rewrite it anyway.)

A production ``manage.py flush`` is refused by the triggers.

What the triggers do not stop: the owner of the tables can drop or disable the triggers or
replace their function. They exist so that no code path, admin action or careless SQL session
alters history; ``manage.py verify_audit`` warns when a trigger is missing or disabled or the
function is not Relcal's, the hash chain proves nobody altered history deliberately, and keeping
the printed head outside the database proves the newest events were not cut off. Production adds
a further wall: the app connects as a role without UPDATE, DELETE and TRUNCATE on these two
tables (``docs/least-privilege.sql``; ``.ci/least-privilege`` runs the audit tests as that role),
and only migrations run as the owner.

Note for later migrations: on SQLite, Django rebuilds a table to alter it, and the rebuilt table
has no triggers. A migration that alters either table must call ``install`` again afterwards
(``tests/approvals/test_append_only.py`` fails when the triggers are missing). A change to
``POSTGRES_BODY`` needs a migration that installs it (a test compares the installed function).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.creation import TEST_DATABASE_PREFIX

TABLES = ("approvals_auditevent", "approvals_signoff")
SQLITE_SWITCH = "relcal_allow_purge"

# The guard refuses every change it is asked about; it has no condition to switch it off.
POSTGRES_BODY = """
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'Audit events and sign-offs are never changed or removed.';
END;
"""
POSTGRES_FUNCTION = (
    "CREATE OR REPLACE FUNCTION relcal_append_only() RETURNS trigger LANGUAGE plpgsql "
    f"AS $${POSTGRES_BODY}$$;"
)


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
    """The names of the append-only triggers present and enabled (empty on other databases)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A disabled trigger (tgenabled 'D') guards nothing: it does not count.
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D' "
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


def function_intact(connection: BaseDatabaseWrapper) -> bool:
    """Whether the PostgreSQL guard function is the one this version of Relcal installs (an
    older one honoured a purge switch; an owner may have replaced it). True on other vendors."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE oid = to_regproc('relcal_append_only')")
        row = cursor.fetchone()
    return row is not None and row[0].strip() == POSTGRES_BODY.strip()


# --- The test flush's way through (test databases only) --------------------------------------


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


def _truncate_triggers(connection: BaseDatabaseWrapper, verb: str) -> None:
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} {verb} TRIGGER {table}_no_truncate")


@contextmanager
def purge_allowed(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Let this connection empty the append-only tables for the duration of the block.

    Only for a test database's flush (see the module's docstring). On PostgreSQL this needs the
    tables' owner; the block runs in one transaction, so the triggers are never seen disabled
    by another session and come back even when the block fails.
    """
    if connection.vendor == "postgresql":
        with transaction.atomic(using=connection.alias):
            _truncate_triggers(connection, "DISABLE")
            yield
            _truncate_triggers(connection, "ENABLE")
    else:
        connection.ensure_connection()
        connection.relcal_allow_purge = True
        try:
            yield
        finally:
            connection.relcal_allow_purge = False
