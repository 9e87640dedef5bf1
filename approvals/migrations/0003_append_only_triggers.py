"""Triggers that make the database refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL) of audit
events and sign-offs; see ``approvals/triggers.py`` for what they allow (flushing a test
database) and why. Installed per database vendor; other vendors get none."""

from django.db import migrations

from approvals import triggers


def install(apps, schema_editor):
    for sql in triggers.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    for sql in triggers.uninstall_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0002_default_policy_and_evidence_role")]

    operations = [migrations.RunPython(install, uninstall)]
