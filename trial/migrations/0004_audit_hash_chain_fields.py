"""Audit hash chain columns (filled for existing rows by 0005) and room for longer action names."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("trial", "0003_record_versions")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(
                default="", editable=False, help_text="entry_hash of the entry before.", max_length=64
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(
                default="", editable=False, help_text="SHA-256 of content + prev_hash.", max_length=64
            ),
            preserve_default=False,
        ),
    ]
