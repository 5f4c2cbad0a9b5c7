"""The change feed's indexes and trial_auditlatest, the latest audit entry per object (issue 17).

exports/changes.py reads the feed in (txid, id) order per model. trial_auditlatest holds one row per
(app_label, model, object_id): the entry with the highest (txid, id), upserted by an AFTER INSERT trigger on
trial_auditentry (the BEFORE trigger has stamped txid by then), so the feed walks one index in cursor order and
never scans superseded entries. Existing rows are backfilled here. PostgreSQL only; SQLite keeps the table
empty and the feed reads the audit table.
"""

from django.db import migrations, models

LATEST_SQL = """
CREATE OR REPLACE FUNCTION trial_auditlatest_upsert() RETURNS trigger AS $$
BEGIN
    INSERT INTO trial_auditlatest (app_label, model, object_id, entry_id, txid, site_id, action, at)
    VALUES (NEW.app_label, NEW.model, NEW.object_id, NEW.id, NEW.txid, NEW.site_id, NEW.action, NEW.at)
    ON CONFLICT (app_label, model, object_id) DO UPDATE
        SET entry_id = EXCLUDED.entry_id, txid = EXCLUDED.txid, site_id = EXCLUDED.site_id,
            action = EXCLUDED.action, at = EXCLUDED.at
        WHERE (trial_auditlatest.txid, trial_auditlatest.entry_id) < (EXCLUDED.txid, EXCLUDED.entry_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER trial_auditentry_latest
    AFTER INSERT ON trial_auditentry
    FOR EACH ROW EXECUTE FUNCTION trial_auditlatest_upsert();

INSERT INTO trial_auditlatest (app_label, model, object_id, entry_id, txid, site_id, action, at)
SELECT DISTINCT ON (app_label, model, object_id) app_label, model, object_id, id, txid, site_id, action, at
FROM trial_auditentry
ORDER BY app_label, model, object_id, txid DESC, id DESC;
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS trial_auditentry_latest ON trial_auditentry;
DROP FUNCTION IF EXISTS trial_auditlatest_upsert();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LATEST_SQL)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL)


class Migration(migrations.Migration):
    dependencies = [("trial", "0008_audit_seq_null_until_sealed")]

    operations = [
        migrations.CreateModel(
            name="AuditLatest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("app_label", models.CharField(max_length=40)),
                ("model", models.CharField(max_length=60)),
                ("object_id", models.CharField(max_length=64)),
                ("entry_id", models.BigIntegerField()),
                ("txid", models.BigIntegerField(null=True)),
                ("site_id", models.BigIntegerField(null=True)),
                (
                    "action",
                    models.CharField(
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
                ("at", models.DateTimeField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["app_label", "model", "txid", "entry_id"], name="trial_latest_feed_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("app_label", "model", "object_id"), name="unique_audit_latest")
                ],
            },
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["app_label", "model", "txid", "id"], name="trial_audit_feed_idx"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["txid", "id"], name="trial_audit_txid_id_idx"),
        ),
        migrations.RunPython(install, remove),
    ]
