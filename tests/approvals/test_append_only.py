"""Invariant 4, held by the database: audit events and sign-offs cannot be updated or deleted
(nor truncated on PostgreSQL), whatever the path: ORM, raw SQL, a production ``flush``, a
session setting.

The test database is made by the real migrations and nothing in the test run replaces the
guard: only the flush after a transactional test gets through, by disabling the TRUNCATE
triggers inside its own transaction (``approvals.triggers.purge_allowed``). In the
least-privilege run (``.ci/least-privilege``) these tests run on a database its owner made with
``migrate``: first as the owner, then as the application role of ``docs/least-privilege.sql``,
where the database refuses with "permission denied" before any trigger is asked and the tests
that need the owner are skipped."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from approvals import triggers
from approvals.models import AuditEvent, SignOff
from tests.conftest import APP_ROLE

ROOT = Path(__file__).resolve().parents[2]
SWITCHED = importlib.import_module("approvals.migrations.0007_append_only_no_purge_switch")

# Who refuses: the privilege system for the application role, the triggers for the owner.
REFUSED = "permission denied" if APP_ROLE else "append-only"
# A column of each table, for UPDATE statements.
COLUMN = {"approvals_auditevent": "action", "approvals_signoff": "comment"}
only_as_the_app_role = pytest.mark.skipif(
    not APP_ROLE, reason="the least-privilege run only (.ci/least-privilege)"
)


@pytest.fixture
def signed(frozen, priya, sign):
    return sign(priya, frozen(), "product")


def refuses(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    return str(error.value)


def run(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_triggers_are_installed(db):
    assert triggers.installed(connection) == triggers.expected(connection)
    assert len(triggers.expected(connection)) == 4


@pytest.mark.parametrize("table", triggers.TABLES)
def test_the_database_refuses_to_update_or_delete_rows(table, signed):
    count = AuditEvent.objects.count(), SignOff.objects.count()
    assert REFUSED in refuses(f"UPDATE {table} SET {COLUMN[table]} = 'rewritten'")
    assert REFUSED in refuses(f"DELETE FROM {table}")
    assert (AuditEvent.objects.count(), SignOff.objects.count()) == count
    assert not AuditEvent.objects.filter(action="rewritten").exists()


def test_the_orm_cannot_change_history_either(signed):
    event = AuditEvent.objects.order_by("seq").first()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="Someone else")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    event.actor_name = "Someone else"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).actor_name != "Someone else"


def test_a_flush_outside_a_test_database_is_refused(signed, monkeypatch):
    # What `manage.py flush` does on a production database: the triggers stop it.
    monkeypatch.setattr(triggers, "is_test_database", lambda connection: False)
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="couldn't be flushed"), transaction.atomic():
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == events
    assert SignOff.objects.count() == 1


@pytest.mark.owner
def test_the_test_flush_way_through_closes_again(signed):
    if connection.vendor == "postgresql":
        run("SET CONSTRAINTS ALL IMMEDIATE")  # as after a committed test: no checks pending
    with triggers.purge_allowed(connection):
        pass  # opened and closed again
    assert triggers.installed(connection) == triggers.expected(connection)
    assert "append-only" in refuses("DELETE FROM approvals_signoff")


@pytest.mark.owner
@pytest.mark.postgres
def test_a_failed_test_flush_leaves_the_truncate_triggers_enabled(signed):
    run("SET CONSTRAINTS ALL IMMEDIATE")  # as after a committed test: no checks pending
    with pytest.raises(RuntimeError), triggers.purge_allowed(connection):
        assert "approvals_signoff_no_truncate" not in triggers.installed(connection)
        raise RuntimeError("the flush failed")
    assert triggers.installed(connection) == triggers.expected(connection)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_test_database_is_flushed_between_transactional_tests(frozen, priya, sign):
    # pytest-django flushes after this test; the next test starting clean proves it worked.
    sign(priya, frozen(), "product")
    assert triggers.is_test_database(connection)


@pytest.mark.postgres
def test_postgresql_refuses_truncate(signed):
    # Run the deferred foreign-key checks of this test's inserts now: PostgreSQL will not even
    # try a TRUNCATE while they are pending, and the point is to meet the trigger.
    run("SET CONSTRAINTS ALL IMMEDIATE")
    for table in triggers.TABLES:
        assert REFUSED in refuses(f"TRUNCATE {table} CASCADE")
    assert SignOff.objects.count() == 1


STATEMENTS = {
    "truncate": "TRUNCATE {table} CASCADE",
    "delete": "DELETE FROM {table}",
    "update": "UPDATE {table} SET {column} = {column}",
}


@pytest.mark.postgres
@pytest.mark.parametrize("set_", ["SET LOCAL", "SET"])
@pytest.mark.parametrize("statement", STATEMENTS)
@pytest.mark.parametrize("table", triggers.TABLES)
def test_postgresql_no_session_setting_unlocks_the_tables(table, statement, set_, signed):
    # The setting an earlier version honoured (up to migration 0007), on a database made by the
    # real migrations.
    run("SET CONSTRAINTS ALL IMMEDIATE")
    run(f"{set_} relcal.allow_purge = 'on'")
    assert REFUSED in refuses(STATEMENTS[statement].format(table=table, column=COLUMN[table]))
    assert (SignOff.objects.count(), AuditEvent.objects.exists()) == (1, True)


@pytest.mark.postgres
def test_postgresql_the_guard_function_is_relcals_and_has_no_switch(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE oid = to_regproc('relcal_append_only')")
        [source] = cursor.fetchone()
    assert "current_setting" not in source
    assert "RETURN" not in source.upper()  # it never lets a change pass
    assert triggers.function_intact(connection)


class Undo(Exception):
    pass


@pytest.mark.owner
@pytest.mark.postgres
def test_postgresql_migration_0007_removes_the_switch(signed):
    run("SET CONSTRAINTS ALL IMMEDIATE")
    run("SET LOCAL relcal.allow_purge = 'on'")
    with connection.schema_editor() as editor:
        SWITCHED.with_switch(None, editor)  # back to 0006's guard: the switch works...
    assert not triggers.function_intact(connection)
    with pytest.raises(Undo), transaction.atomic():
        run("TRUNCATE approvals_signoff CASCADE")
        assert not SignOff.objects.exists()
        raise Undo
    with connection.schema_editor() as editor:
        SWITCHED.without_switch(None, editor)  # ...and after 0007 it does nothing
    assert triggers.function_intact(connection)
    assert "append-only: TRUNCATE refused" in refuses("TRUNCATE approvals_signoff CASCADE")
    assert SignOff.objects.count() == 1


# --- The least-privilege run only -------------------------------------------------------------


@only_as_the_app_role
@pytest.mark.parametrize("table", triggers.TABLES)
def test_the_app_role_may_read_and_append_but_not_change_or_remove(table, db):
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p, has_table_privilege(current_user, %s, p) FROM unnest(%s::text[]) p",
            [table, list(privileges)],
        )
        granted = {privilege for privilege, held in cursor.fetchall() if held}
    assert granted == {"SELECT", "INSERT"}


@only_as_the_app_role
def test_the_app_role_neither_owns_the_tables_nor_is_a_superuser(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, r.rolbypassrls, pg_has_role(current_user, c.relowner, 'USAGE') "
            "FROM pg_roles r, pg_class c "
            "WHERE r.rolname = current_user AND c.oid = 'approvals_auditevent'::regclass"
        )
        assert cursor.fetchone() == (False, False, False)


@only_as_the_app_role
def test_the_app_role_cannot_disable_or_drop_the_triggers(db):
    assert "must be owner" in refuses(
        "ALTER TABLE approvals_auditevent DISABLE TRIGGER approvals_auditevent_no_truncate"
    )
    assert "must be owner" in refuses("DROP FUNCTION relcal_append_only() CASCADE")


def test_the_readme_shows_the_statements_ci_runs_as_they_are():
    # .ci/least-privilege runs docs/least-privilege.sql; the README's Production section must
    # show the same statements, so what operators copy is what CI tested.
    statements = (ROOT / "docs" / "least-privilege.sql").read_text().strip()
    assert statements in (ROOT / "README.md").read_text()
