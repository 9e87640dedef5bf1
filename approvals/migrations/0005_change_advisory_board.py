"""The Change advisory board role: ``approvals.waive_gate`` (waive one failing readiness gate
for one candidate, with a reason and the password) for a new "Change advisory board" group.
Superusers have it anyway."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CAB = "Change advisory board"


def grant_waivers(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the group needs one now.
    config = apps.get_app_config("approvals")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="approvals", codename="waive_gate")
    group, _ = Group.objects.get_or_create(name=CAB)
    group.permissions.add(permission)


def revoke_waivers(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CAB).delete()


class Migration(migrations.Migration):
    dependencies = [("approvals", "0004_readiness")]

    operations = [
        migrations.RunPython(grant_waivers, revoke_waivers),
    ]
