"""``audit_append``: the SQL twin of ``cets.common.audit.audit_record`` for writes done inside a PostgreSQL
function (one unsealed entry; ``audit_seal`` chains it after commit like any other). PL/pgSQL rather than
SQL so that its plan is kept between calls."""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_append(
    p_created_at timestamptz, p_actor_id bigint, p_actor_label text, p_action text, p_object_type text,
    p_object_id text, p_before jsonb, p_after jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO common_auditentry (created_at, actor_id, actor_label, action, object_type, object_id, before,
                                   after, seq, prev_hash, entry_hash)
    VALUES (p_created_at, p_actor_id, p_actor_label, p_action, p_object_type, p_object_id, p_before, p_after,
            NULL, '', NULL)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$fn$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_append(timestamptz, bigint, text, text, text, text, "
                              "jsonb, jsonb)")


class Migration(migrations.Migration):
    dependencies = [("common", "0003_audit_sealed_after_commit")]
    operations = [migrations.RunPython(create, drop)]
