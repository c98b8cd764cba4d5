"""PostgreSQL only: blocks of one instrument can never overlap (exclusion constraint on int8range).

SQLite has no GiST; there the services and ``check_ledger`` keep blocks disjoint.
"""

from django.db import migrations

CONSTRAINT = "registry_block_no_overlap"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE registry_block ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(instrument_id WITH =, int8range(serial_start, serial_end, '[]') WITH &&)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE registry_block DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
