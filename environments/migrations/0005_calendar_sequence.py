"""Calendar feeds: a SEQUENCE for bookings and maintenance windows, and a modification time for
maintenance windows (existing windows take their creation time)."""

from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def stamp_existing(apps, schema_editor):
    MaintenanceWindow = apps.get_model("environments", "MaintenanceWindow")
    MaintenanceWindow.objects.update(updated_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("environments", "0004_roles")]

    operations = [
        migrations.AddField(
            model_name="booking",
            name="sequence",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="maintenancewindow",
            name="sequence",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="maintenancewindow",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=timezone.now),
            preserve_default=False,
        ),
        migrations.RunPython(stamp_existing, migrations.RunPython.noop, elidable=True),
    ]
