"""Audit entries are sealed after commit (trial/audit_chain.py): inserted with `seq` NULL and empty hashes,
then given `seq`, `prev_hash` and `entry_hash` by `seal_pending` in its own transaction.

The row trigger now lets exactly that UPDATE through: a row whose `seq` IS NULL gets a `seq` and two
64-hex-digit hashes, every other column unchanged (compared as jsonb of the whole row, so columns added later
are covered too). Every other UPDATE, every DELETE, and TRUNCATE (0005's statement trigger, with its
test-only escape) stay refused.

`seq` becomes nullable in the database only (database_operations; the model state keeps 0006's field so
`makemigrations --check` stays clean until trial/models.py says `null=True` as well).
"""

from django.db import migrations, models

SEAL_SQL = """
CREATE OR REPLACE FUNCTION trial_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
           AND NEW.prev_hash ~ '^[0-9a-f]{64}$' AND NEW.entry_hash ~ '^[0-9a-f]{64}$'
           AND (to_jsonb(NEW) - ARRAY['seq', 'prev_hash', 'entry_hash'])
               = (to_jsonb(OLD) - ARRAY['seq', 'prev_hash', 'entry_hash'])
        THEN
            RETURN NEW;  -- sealing: only the chain columns of an unsealed row are filled
        END IF;
    END IF;
    RAISE EXCEPTION 'trial_auditentry is append-only: %% is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

# 0002's function: refuse every UPDATE and DELETE.
STRICT_SQL = """
CREATE OR REPLACE FUNCTION trial_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'trial_auditentry is append-only: %% is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def allow_sealing(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEAL_SQL)


def refuse_sealing(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STRICT_SQL)


def seal_before_unapplying(apps, schema_editor):
    """Going back to 0006 (NOT NULL seq, strict trigger): seal what is pending first."""
    from trial.audit_chain import seal_pending

    seal_pending(apps.get_model("trial", "AuditEntry"))


class Migration(migrations.Migration):
    dependencies = [("trial", "0006_audit_seq_unique")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="seq",
                    field=models.PositiveBigIntegerField(
                        editable=False, help_text="Position in the hash chain.", null=True, unique=True
                    ),
                )
            ],
            state_operations=[],
        ),
        migrations.RunPython(allow_sealing, refuse_sealing),
        migrations.RunPython(migrations.RunPython.noop, seal_before_unapplying),
    ]
