"""Give the roles (created by releases/0002_roles) their permissions on environments.

The services decide who may book or change what (team membership, owners, release managers);
these model permissions only open the admin's environment pages to the roles.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here on purpose: a data migration must not change when the models later do.
MODELS = ("environment", "booking", "maintenancewindow", "deployment", "waitlistentry")
VIEW = [f"view_{model}" for model in MODELS]
MANAGE = [f"{action}_{model}" for model in MODELS for action in ("add", "change", "delete")]
ROLES = {
    "Release managers": VIEW + MANAGE,
    "Product approvers": VIEW,
    "Legal approvers": VIEW,
    "Security approvers": VIEW,
    "Team members": VIEW,
    "Auditors": VIEW,
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need them now.
    config = apps.get_app_config("environments")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="environments", codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="environments")
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("environments", "0003_booking_no_overlap_exclusion"),
        ("releases", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
