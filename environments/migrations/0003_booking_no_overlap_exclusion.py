"""On PostgreSQL, let the database refuse overlapping holding bookings of one environment.

Django's ``ExclusionConstraint`` is PostgreSQL-only and the project also migrates on SQLite
(where serialized ``IMMEDIATE`` transactions keep the promise), so the constraint is raw SQL run
only on PostgreSQL, and it is not in ``Booking.Meta`` (``makemigrations --check`` stays clean).
``[)`` makes the ranges half-open: a booking ending at 10:00 and one starting then do not clash.
"""

from django.db import migrations

CONSTRAINT = "booking_no_overlap"


def add_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # btree_gist gives GiST an equality operator for environment_id. It is a trusted extension
    # (PostgreSQL 13+), so the database owner may create it without being a superuser.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"""
        ALTER TABLE environments_booking ADD CONSTRAINT {CONSTRAINT}
        EXCLUDE USING gist (
            environment_id WITH =,
            tstzrange("start", "end", '[)') WITH &&
        ) WHERE (state IN ('confirmed', 'active'))
        """
    )


def drop_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other objects may use it by now.
    schema_editor.execute(
        f"ALTER TABLE environments_booking DROP CONSTRAINT IF EXISTS {CONSTRAINT}"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("environments", "0002_booking_deployments_maintenance_waitlist"),
    ]

    operations = [migrations.RunPython(add_exclusion, drop_exclusion, elidable=False)]
