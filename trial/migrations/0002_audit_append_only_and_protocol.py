"""Append-only audit trail enforced by PostgreSQL (row UPDATE/DELETE; TRUNCATE stays possible for test
flushes and is a DBA-only action), the transaction id stamped for exports, and protocol v1.0."""

from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION trial_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'trial_auditentry is append-only: %% is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION trial_auditentry_stamp_txid() RETURNS trigger AS $$
BEGIN
    NEW.txid := txid_current();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER trial_auditentry_no_update_delete
    BEFORE UPDATE OR DELETE ON trial_auditentry
    FOR EACH ROW EXECUTE FUNCTION trial_auditentry_append_only();
CREATE TRIGGER trial_auditentry_txid
    BEFORE INSERT ON trial_auditentry
    FOR EACH ROW EXECUTE FUNCTION trial_auditentry_stamp_txid();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS trial_auditentry_no_update_delete ON trial_auditentry;
DROP TRIGGER IF EXISTS trial_auditentry_txid ON trial_auditentry;
DROP FUNCTION IF EXISTS trial_auditentry_append_only();
DROP FUNCTION IF EXISTS trial_auditentry_stamp_txid();
"""


def install_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL)


def remove_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL)


def load_protocol(apps, schema_editor):
    from trial.protocol_loader import load_protocol as load

    load(apps)


class Migration(migrations.Migration):
    dependencies = [("trial", "0001_initial")]

    operations = [
        migrations.RunPython(install_triggers, remove_triggers),
        migrations.RunPython(load_protocol, migrations.RunPython.noop),
    ]
