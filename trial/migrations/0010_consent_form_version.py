"""Consent's ICF version text moves to `form_version`, so the record `version` of ClinicalRecord is no longer
shadowed (an audited void or edit of a consent raised the text version by one and failed)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("trial", "0009_audit_feed_latest")]

    operations = [
        migrations.RenameField(model_name="consent", old_name="version", new_name="form_version"),
        migrations.AddField(
            model_name="consent",
            name="version",
            field=models.PositiveIntegerField(
                default=1,
                editable=False,
                help_text="Raised by every audited change; an edit must name the version it read.",
            ),
        ),
    ]
