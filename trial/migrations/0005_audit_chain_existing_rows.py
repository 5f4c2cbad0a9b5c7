"""Chain the audit rows written before the hash chain existed (in id order), and refuse TRUNCATE.

The row trigger refusing UPDATE is switched off for this one transaction only (migrations run as the
table owner). TRUNCATE is refused by a statement trigger unless the database sets
``cd8pet.allow_audit_truncate = on`` (only the test database does: pytest-django flushes tables).
"""

from django.db import migrations

TRUNCATE_SQL = """
CREATE OR REPLACE FUNCTION trial_auditentry_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('cd8pet.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'trial_auditentry is append-only: TRUNCATE is not allowed';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER trial_auditentry_no_truncate
    BEFORE TRUNCATE ON trial_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION trial_auditentry_no_truncate();
"""

REVERSE_TRUNCATE_SQL = """
DROP TRIGGER IF EXISTS trial_auditentry_no_truncate ON trial_auditentry;
DROP FUNCTION IF EXISTS trial_auditentry_no_truncate();
"""


def chain_existing(apps, schema_editor):
    from trial.audit_chain import chain_historical

    entry = apps.get_model("trial", "AuditEntry")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(
            "ALTER TABLE trial_auditentry DISABLE TRIGGER trial_auditentry_no_update_delete"
        )
    chain_historical(entry)
    if postgres:
        schema_editor.execute("ALTER TABLE trial_auditentry ENABLE TRIGGER trial_auditentry_no_update_delete")


def install_truncate_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRUNCATE_SQL)


def remove_truncate_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_TRUNCATE_SQL)


class Migration(migrations.Migration):
    dependencies = [("trial", "0004_audit_hash_chain_fields")]

    operations = [
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.RunPython(install_truncate_trigger, remove_truncate_trigger),
    ]
