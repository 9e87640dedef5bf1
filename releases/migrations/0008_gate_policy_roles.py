"""Release managers keep the gate policies: add, change, delete and view ``GatePolicy`` (admin →
Gate policies), each change audited. Superusers have these anyway."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here on purpose, like 0002_roles: a data migration must not change when roles.py does.
RELEASE_MANAGERS = "Release managers"
CODENAMES = [f"{action}_gatepolicy" for action in ("add", "change", "delete", "view")]


def _permissions(apps):
    return apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="releases", codename__in=CODENAMES
    )


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the group needs them now.
    config = apps.get_app_config("releases")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=RELEASE_MANAGERS)
    group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=RELEASE_MANAGERS).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("releases", "0007_default_gate_policy"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
