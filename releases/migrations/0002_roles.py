from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here on purpose: a data migration must not change when releases/roles.py later does.
VIEW = [
    "view_team",
    "view_release",
    "view_releasetransition",
    "view_milestone",
    "view_scopeitem",
    "view_releasedependency",
    "view_freezewindow",
]
PLAN = [
    f"{action}_{model}"
    for model in ("release", "milestone", "scopeitem", "releasedependency", "freezewindow")
    for action in ("add", "change", "delete")
] + ["transition_release"]
ROLES = {
    "Release managers": VIEW + PLAN,
    "Product approvers": VIEW,
    "Legal approvers": VIEW,
    "Security approvers": VIEW,
    "Team members": VIEW,
    "Auditors": VIEW,
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need them now.
    releases_config = apps.get_app_config("releases")
    releases_config.models_module = True
    create_permissions(releases_config, apps=apps, verbosity=0)
    releases_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="releases", codename__in=codenames)
        )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("releases", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
