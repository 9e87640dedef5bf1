"""The default approval policy, and who sees evidence.

- Default policy: product, legal and security each approve once, with segregation of duties.
  Teams without a policy of their own follow it; administrators change it in the admin (every
  change is audited).
- ``approvals.view_evidence`` (evidence pages, exports, the trail in the admin and the API) for
  the Auditors and Release managers groups; superusers have every permission.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here on purpose: a data migration must not change when the code later does.
DEFAULT = [
    ("product", "Product approvers"),
    ("legal", "Legal approvers"),
    ("security", "Security approvers"),
]
EVIDENCE_GROUPS = ["Auditors", "Release managers"]


def create_default(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Requirement = apps.get_model("approvals", "ApprovalRequirement")
    if Policy.objects.filter(is_default=True).exists():
        return
    policy = Policy.objects.create(
        name="Default",
        is_default=True,
        description="Every release needs product, legal and security approval.",
    )
    for role, group_name in DEFAULT:
        group, _ = Group.objects.get_or_create(name=group_name)
        Requirement.objects.create(
            policy=policy, role=role, group=group, count=1, segregation_of_duties=True
        )


def remove_default(apps, schema_editor):
    apps.get_model("approvals", "ApprovalPolicy").objects.filter(
        is_default=True, name="Default"
    ).delete()


def grant_evidence(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need one now.
    config = apps.get_app_config("approvals")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="approvals", codename="view_evidence"
    )
    for name in EVIDENCE_GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(permission)


def revoke_evidence(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="approvals", codename="view_evidence"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_approvals_and_audit"),
        ("releases", "0002_roles"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_default, remove_default),
        migrations.RunPython(grant_evidence, revoke_evidence),
    ]
