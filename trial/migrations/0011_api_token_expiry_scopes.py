"""API tokens expire and carry scopes (issue 13). Tokens issued before this get both scopes and 90 days from
the migration, so integrations have notice before their token stops working."""

import datetime as dt

from django.db import migrations, models
from django.utils import timezone


def existing_tokens(apps, schema_editor):
    token_model = apps.get_model("trial", "ApiToken")
    notice = timezone.now() + dt.timedelta(days=90)
    token_model.objects.update(expires_at=notice, scopes=["export", "capture"])


class Migration(migrations.Migration):
    dependencies = [("trial", "0010_consent_form_version")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.JSONField(default=list, help_text="TokenScope values the token may call."),
        ),
        migrations.RunPython(existing_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
