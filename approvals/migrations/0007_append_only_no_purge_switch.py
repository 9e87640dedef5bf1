"""The PostgreSQL guard of the append-only tables loses its purge switch: up to 0006 the TRUNCATE
trigger let a purge through whenever the session setting ``relcal.allow_purge`` was ``on``,
which any role with TRUNCATE could set in its own transaction. From here no setting unlocks the
tables; a test database's flush disables the TRUNCATE triggers instead, which needs the tables'
owner (see ``approvals/triggers.py``).

The function bodies are spelled out here rather than read from ``approvals.triggers``, so that
this migration keeps doing the same thing whatever later versions of that module say. SQLite's
triggers do not change.
"""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION relcal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'Audit events and sign-offs are never changed or removed.';
END;
$$;
"""

GUARD_WITH_SWITCH = """
CREATE OR REPLACE FUNCTION relcal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('relcal.allow_purge', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'Audit events and sign-offs are never changed or removed.';
END;
$$;
"""


def without_switch(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def with_switch(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD_WITH_SWITCH, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0006_check_report_time_index")]

    operations = [migrations.RunPython(without_switch, with_switch)]
