"""Give the roles (created by releases/0002_roles) their permissions on team webhooks and the
delivery history: release managers manage webhooks and read deliveries, auditors read the
deliveries. Nobody else starts with the right to see webhooks (their secrets sign)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here on purpose: a data migration must not change when the models later do.
ROLES = {
    "Release managers": [
        "view_webhook",
        "add_webhook",
        "change_webhook",
        "delete_webhook",
        "view_delivery",
    ],
    # Not the webhooks themselves: their secrets and URLs (a chat hook's URL is its password)
    # are for those who manage them.
    "Auditors": ["view_delivery"],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need them now.
    config = apps.get_app_config("relcal")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="relcal", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = {codename for names in ROLES.values() for codename in names}
    permissions = Permission.objects.filter(
        content_type__app_label="relcal", codename__in=codenames
    )
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("relcal", "0003_webhooks_preferences_digests"),
        ("releases", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
