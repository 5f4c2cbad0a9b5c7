from django.db import migrations


def seed(apps, schema_editor):
    from pathology.markers import load_markers

    load_markers(apps.get_model("pathology", "MarkerDefinition"))


class Migration(migrations.Migration):
    dependencies = [("pathology", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
