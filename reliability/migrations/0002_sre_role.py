"""The SRE role: ``reliability.override_error_budget`` (let one release pass the error-budget
gate, with a reason and the password) for a new "SRE" group. Superusers have it anyway."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SRE = "SRE"


def grant_override(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the group needs one now.
    config = apps.get_app_config("reliability")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="reliability", codename="override_error_budget"
    )
    group, _ = Group.objects.get_or_create(name=SRE)
    group.permissions.add(permission)


def revoke_override(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=SRE).delete()


class Migration(migrations.Migration):
    dependencies = [("reliability", "0001_services_slos_budgets")]

    operations = [
        migrations.RunPython(grant_override, revoke_override),
    ]
