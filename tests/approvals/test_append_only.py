"""Invariant 4, held by the database: audit events and sign-offs cannot be updated or deleted
(nor truncated on PostgreSQL), whatever the path: ORM, raw SQL, a production ``flush``."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from approvals import triggers
from approvals.models import AuditEvent, SignOff


@pytest.fixture
def signed(frozen, priya, sign):
    return sign(priya, frozen(), "product")


def refuses(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    return str(error.value)


def test_the_triggers_are_installed(db):
    assert triggers.installed(connection) == triggers.expected(connection)
    assert len(triggers.expected(connection)) == 4


@pytest.mark.parametrize("table", ["approvals_auditevent", "approvals_signoff"])
def test_the_database_refuses_to_update_or_delete_rows(table, signed):
    count = AuditEvent.objects.count(), SignOff.objects.count()
    column = "action" if table == "approvals_auditevent" else "comment"
    assert "append-only" in refuses(f"UPDATE {table} SET {column} = 'rewritten'")
    assert "append-only" in refuses(f"DELETE FROM {table}")
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


def test_the_purge_switch_is_off_unless_a_test_flush_turns_it_on(signed):
    with triggers.purge_allowed(connection):
        pass  # turned on and off again
    assert "append-only" in refuses("DELETE FROM approvals_signoff")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_test_database_is_flushed_between_transactional_tests(frozen, priya, sign):
    # pytest-django flushes after this test; the next test starting clean proves it worked.
    sign(priya, frozen(), "product")
    assert triggers.is_test_database(connection)


@pytest.mark.postgres
def test_postgresql_refuses_truncate(signed):
    # Run the deferred foreign-key checks of this test's inserts now: PostgreSQL will not even
    # try a TRUNCATE while they are pending, and the point is to meet the trigger.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table in triggers.TABLES:
        assert "append-only: TRUNCATE refused" in refuses(f"TRUNCATE {table} CASCADE")
    assert SignOff.objects.count() == 1


@pytest.mark.postgres
def test_postgresql_refuses_even_with_the_switch_for_update_and_delete(signed):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL relcal.allow_purge = 'on'")
    assert "append-only" in refuses("UPDATE approvals_auditevent SET action = 'x'")
    assert "append-only" in refuses("DELETE FROM approvals_signoff")
