"""``manage.py verify_audit``: intact chains pass and print the head; a tamper matrix (with the
triggers dropped inside the test's transaction, so they come back afterwards) is caught with
the right ``seq`` and kind; sign-offs are checked against the snapshots in the trail. The tamper
tests drop the triggers and rewrite rows, so they need the tables' owner (marker ``owner``)."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from approvals import triggers
from approvals.models import AuditEvent
from relcal.audit import event_hash
from releases import services

from .conftest import walk

SWITCHED = importlib.import_module("approvals.migrations.0007_append_only_no_purge_switch")
K = 5  # the event the tamper tests pick on (the chain has more than 10)
SHIFT = 1_000_000


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def broken(*args: str) -> str:
    with pytest.raises(CommandError) as error:
        verify(*args)
    assert error.value.returncode == 1
    return str(error.value)


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def chain(frozen, approvers, sign, manager):
    """A trail of a few dozen events, including sign-offs; returns the head as SEQ:HASH."""
    release = frozen()
    sign(approvers["product"], release, "product")
    walk(release, manager, "testing")
    sign(approvers["legal"], release, "legal")
    for words in ("Ready for QA.", "QA started."):  # two events after the last sign-off
        services.release_update(actor=manager, release=release, description=words)
    head = AuditEvent.objects.order_by("-seq").first()
    assert head.seq > 2 * K
    return f"{head.seq}:{head.hash}"


@pytest.fixture
def unguarded(chain):
    """The chain with the append-only triggers dropped (restored when the test rolls back)."""
    triggers.uninstall(connection)
    assert triggers.installed(connection) == []
    return chain


def row(seq: int) -> AuditEvent:
    return AuditEvent.objects.get(seq=seq)


def test_an_intact_chain_passes_and_prints_its_head(chain):
    output = verify()
    seq, hash_value = chain.split(":")
    assert "Audit trail intact" in output
    assert "2 sign-offs checked" in output
    assert f"Head: seq {seq} hash {hash_value}" in output
    assert verify("--expect-head", chain).startswith("Audit trail intact")
    assert verify("--expect-head", hash_value).startswith("Audit trail intact")


def test_an_empty_trail_is_intact(db):
    AuditEvent.objects.all()  # nothing recorded yet in this test database
    if not AuditEvent.objects.exists():
        assert "0 events" in verify()


@pytest.mark.owner
def test_it_catches_an_edited_row(unguarded):
    sql("UPDATE approvals_auditevent SET actor_name = %s WHERE seq = %s", ["Mallory", K])
    assert f"broken at seq {K}: edited" in broken()


@pytest.mark.owner
def test_it_catches_an_edited_json_value(unguarded):
    sql("UPDATE approvals_auditevent SET object_repr = 'x', request_id = 'y' WHERE seq = %s", [K])
    assert f"broken at seq {K}: edited" in broken()


@pytest.mark.owner
def test_it_catches_an_edited_row_whose_hash_was_recomputed(unguarded):
    event = row(K)
    event.actor_name = "Mallory"
    forged = event_hash(event.prev_hash, event.__dict__)
    sql(
        "UPDATE approvals_auditevent SET actor_name = %s, hash = %s WHERE seq = %s",
        ["Mallory", forged, K],
    )
    assert f"broken at seq {K}: edited" in broken()


@pytest.mark.owner
def test_it_catches_a_deleted_row(unguarded):
    sql("DELETE FROM approvals_auditevent WHERE seq = %s", [K])
    message = broken()
    assert f"broken at seq {K}: missing" in message


def _shift_up_from(seq: int) -> None:
    # Two steps, so that no two rows hold the same seq on the way.
    sql("UPDATE approvals_auditevent SET seq = seq + %s WHERE seq >= %s", [SHIFT, seq])
    sql("UPDATE approvals_auditevent SET seq = seq - %s WHERE seq >= %s", [SHIFT - 1, SHIFT])


def _forge(seq: int, prev_hash: str) -> None:
    template = row(1)
    fields = {**template.__dict__, "seq": seq, "action": "release.update", "actor_name": "Mallory"}
    forged = event_hash(prev_hash, fields)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                **{k: v for k, v in fields.items() if not k.startswith("_")}
                | {"prev_hash": prev_hash, "hash": forged}
            )
        ]
    )


@pytest.mark.owner
def test_it_catches_a_row_inserted_in_the_middle(unguarded):
    _shift_up_from(K)
    _forge(K, "f" * 64)  # self-consistent, but linked to nothing
    assert f"broken at seq {K}: inserted" in broken()


@pytest.mark.owner
def test_it_catches_a_row_appended_after_the_head(unguarded):
    head = int(unguarded.split(":")[0])
    _forge(head + 1, "e" * 64)
    assert f"broken at seq {head + 1}: inserted" in broken()


@pytest.mark.owner
def test_it_catches_two_swapped_rows(unguarded):
    sql("UPDATE approvals_auditevent SET seq = -1 WHERE seq = %s", [K])
    sql("UPDATE approvals_auditevent SET seq = %s WHERE seq = %s", [K, K + 1])
    sql("UPDATE approvals_auditevent SET seq = %s WHERE seq = -1", [K + 1])
    assert f"broken at seq {K}: reordered" in broken()


@pytest.mark.owner
def test_it_catches_rows_cut_off_the_end_only_with_the_recorded_head(unguarded):
    head = int(unguarded.split(":")[0])
    sql("DELETE FROM approvals_auditevent WHERE seq >= %s", [head - 1])
    assert "Audit trail intact" in verify()  # a shorter chain is still a chain...
    message = broken("--expect-head", unguarded)  # ...but not the one recorded
    assert f"broken at seq {head - 1}: missing" in message


@pytest.mark.owner
def test_it_catches_a_sign_off_whose_fingerprint_was_changed(unguarded):
    sql("UPDATE approvals_signoff SET fingerprint = %s", ["0" * 64])
    message = broken()
    assert "Sign-offs do not match the audit trail" in message
    assert "differs from its event in fingerprint" in message


@pytest.mark.owner
def test_it_catches_a_sign_off_whose_snapshot_was_changed(unguarded):
    sql("UPDATE approvals_signoff SET snapshot = %s", ['{"version": "forged"}'])
    assert "its snapshot differs from the trail's" in broken()


@pytest.mark.owner
def test_it_catches_a_deleted_sign_off(unguarded):
    sql("DELETE FROM approvals_signoff")
    assert "is in the trail but missing from the table" in broken()


@pytest.mark.owner
def test_it_warns_when_the_triggers_are_missing(unguarded):
    err = StringIO()
    call_command("verify_audit", stdout=StringIO(), stderr=err)
    assert "append-only triggers" in err.getvalue()
    assert "are missing" in err.getvalue()


@pytest.mark.owner
def test_repair_installs_the_triggers_again(unguarded):
    out = StringIO()
    call_command("verify_audit", "--repair", stdout=out, stderr=StringIO())
    assert "triggers and guard function installed" in out.getvalue()
    assert warnings() == ""


def warnings() -> str:
    err = StringIO()
    call_command("verify_audit", stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_an_intact_guard_gives_no_warning(chain):
    assert warnings() == ""


@pytest.mark.owner
@pytest.mark.postgres
def test_it_warns_when_a_trigger_is_disabled(chain):
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # no ALTER TABLE while foreign-key checks are pending
    sql("ALTER TABLE approvals_signoff DISABLE TRIGGER approvals_signoff_no_truncate")
    assert "approvals_signoff_no_truncate are missing or disabled" in warnings()


@pytest.mark.owner
@pytest.mark.postgres
def test_it_warns_when_the_guard_function_is_not_relcals(chain):
    with connection.schema_editor() as editor:
        SWITCHED.with_switch(None, editor)  # the guard before 0007, which honoured a setting
    assert "guard function relcal_append_only() is not the one" in warnings()
