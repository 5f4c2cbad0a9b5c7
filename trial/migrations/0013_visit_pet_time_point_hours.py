"""PET time points per tracer injection (issue 16): a PET visit definition carries its nominal hours after the
injection and its window in hours, filled from the tracer visits' `pet_time_points` in trial/protocol/*.json."""

from django.db import migrations, models


def load_pet_time_points(apps, schema_editor):
    from trial.protocol_loader import load_protocol

    load_protocol(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("trial", "0012_visit_expected_forms"),
    ]

    operations = [
        migrations.AddField(
            model_name="visitdefinition",
            name="hours_after_anchor",
            field=models.FloatField(
                blank=True,
                help_text="PET time point: nominal hours after the tracer injection (anchor).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="visitdefinition",
            name="window_hours_before",
            field=models.FloatField(blank=True, help_text="PET time point: hours before.", null=True),
        ),
        migrations.AddField(
            model_name="visitdefinition",
            name="window_hours_after",
            field=models.FloatField(blank=True, help_text="PET time point: hours after.", null=True),
        ),
        migrations.RunPython(load_pet_time_points, migrations.RunPython.noop),
    ]
