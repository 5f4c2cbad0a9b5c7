"""The protocol calendar says which casebook forms each visit expects (issue 18): a field on the visit
definition, filled from trial/protocol/*.json."""

from django.db import migrations, models


def load_expected_forms(apps, schema_editor):
    from trial.protocol_loader import load_protocol

    load_protocol(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("trial", "0011_api_token_expiry_scopes"),
    ]

    operations = [
        migrations.AddField(
            model_name="visitdefinition",
            name="expected_forms",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Casebook forms the visit expects once its window opens (form keys, optionally form:qualifier).",
            ),
        ),
        migrations.RunPython(load_expected_forms, migrations.RunPython.noop),
    ]
