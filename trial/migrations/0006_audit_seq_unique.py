"""Every audit row now has its chain position: make it required and unique (no fork of the chain)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("trial", "0005_audit_chain_existing_rows")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(
                editable=False, help_text="Position in the hash chain.", unique=True
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("create", "Create"),
                    ("update", "Update"),
                    ("void", "Void"),
                    ("restore", "Restore"),
                    ("sign", "Sign"),
                    ("unsign", "Signature voided"),
                    ("lock", "Lock"),
                    ("unlock", "Unlock"),
                    ("account", "Account or role change"),
                    ("login", "Login"),
                    ("logout", "Logout"),
                    ("login_failed", "Failed login"),
                    ("token_use", "API token used"),
                    ("export", "Export"),
                    ("download", "Download"),
                ],
                max_length=20,
            ),
        ),
    ]
