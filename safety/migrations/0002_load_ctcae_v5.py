"""Load the shipped CTCAE v5.0 dictionary (837 terms, 26 SOCs); idempotent, like `manage.py load_ctcae`."""

from django.db import migrations


def load(apps, schema_editor):
    from safety.ctcae import load_terms

    load_terms(apps.get_model("safety", "CtcaeTerm"), version="5.0")


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
