"""The default gate policy: no required checks, no booking, no rehearsal deadline, so that
releases deploy as they did before readiness gates existed until an administrator tightens it
or gives a team its own (each change audited)."""

from django.db import migrations


def create_default(apps, schema_editor):
    Policy = apps.get_model("releases", "GatePolicy")
    if not Policy.objects.filter(is_default=True).exists():
        Policy.objects.create(
            name="Default",
            is_default=True,
            description="The gates every release passes; teams add required checks.",
        )


def remove_default(apps, schema_editor):
    apps.get_model("releases", "GatePolicy").objects.filter(
        is_default=True, name="Default"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("releases", "0006_scope_progress_and_gate_policy")]

    operations = [migrations.RunPython(create_default, remove_default)]
