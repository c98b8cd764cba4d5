"""``registry_transfer``: an immediate transfer as one PostgreSQL call (lock, guard, record, move).

``registry.services.transfer_create`` decides in Python what a transfer may do (the statuses that may send
and receive it, whether it runs at once) and passes that in; the function locks both accounts in key
order (under the caller's lock timeout), re-reads them and the sender's holding under the lock, and either refuses (returning what it read,
so Python raises the same error its own checks would) or inserts the completed transaction, moves the
units with ``registry_move`` (migration 0007) and appends the audit entry (``audit_append``, common 0004). It writes every column of ``registry_transaction``: a
migration that adds a column without a database default must update it (every PostgreSQL transfer test
would fail first). The foreign keys most transactions leave empty get partial indexes (only where set).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FUNCTION = r"""
CREATE OR REPLACE FUNCTION registry_transfer(
    p_instrument bigint, p_quantity bigint, p_from bigint, p_to bigint,
    p_send_ok text[], p_receive_ok text[], p_without_second_approval boolean,
    p_kind text, p_reference text, p_proposed_by bigint, p_now timestamptz, p_merge_limit integer,
    p_actor_label text, p_audit_after jsonb, p_lock_timeout text)
RETURNS TABLE (tx_id bigint, sender_status text, recipient_status text, second_approval boolean,
               held_total bigint, held_reserved bigint, held_frozen bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    account record;
    sender record;
    recipient record;
    held record;
    new_id bigint;
BEGIN
    PERFORM set_config('lock_timeout', p_lock_timeout, true);  -- for this transaction, as SET LOCAL
    -- lock both in key order; a row read by FOR ... UPDATE is its latest version, even after a wait
    FOR account IN SELECT a.id, a.status, a.requires_second_approval FROM registry_account a
                    WHERE a.id IN (p_from, p_to) ORDER BY a.id FOR NO KEY UPDATE LOOP
        IF account.id = p_from THEN
            sender := account;
        ELSE
            recipient := account;
        END IF;
    END LOOP;
    SELECT h.total, h.reserved, h.frozen INTO held FROM registry_holding h
     WHERE h.account_id = p_from AND h.instrument_id = p_instrument;
    IF sender.status = ANY(p_send_ok) AND recipient.status = ANY(p_receive_ok)
       AND NOT (p_without_second_approval AND sender.requires_second_approval)
       AND held.total > 0 AND held.total - held.reserved - held.frozen >= p_quantity THEN
        INSERT INTO registry_transaction (kind, status, instrument_id, quantity, from_account_id, to_account_id,
                                          reference, compliance_year, purpose, beneficiary, reason, reservation_id,
                                          freeze_id, freeze_kind, reverses_id, job_id, proposed_by_id,
                                          approved_by_id, not_before, created_at, executed_at)
        VALUES (p_kind, 'completed', p_instrument, p_quantity, p_from, p_to, p_reference, NULL, '', '', '', NULL,
                NULL, '', NULL, NULL, p_proposed_by, NULL, NULL, p_now, p_now)
        RETURNING id INTO new_id;
        PERFORM registry_move(p_instrument, p_quantity, p_from, NULL, NULL, p_to, NULL, NULL, new_id, p_now,
                              p_merge_limit);
        PERFORM audit_append(p_now, p_proposed_by, p_actor_label, 'registry.transaction.create',
                             'registry.transaction', new_id::text, NULL, p_audit_after);
    END IF;
    RETURN QUERY SELECT new_id, sender.status::text, recipient.status::text, sender.requires_second_approval,
                        held.total, held.reserved, held.frozen;
END
$fn$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS registry_transfer(bigint, bigint, bigint, bigint, text[], "
                              "text[], boolean, text, text, bigint, timestamptz, integer, text, jsonb, text)")


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_registry_move_function"), ("common", "0004_audit_append_function"),
                    migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
    operations = [
        migrations.AlterField(
            model_name='transaction',
            name='approved_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='approved by'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='freeze',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='registry.freeze'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='job',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='common.job'),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='proposed_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='proposed by'),
        ),
        migrations.AddIndex(
            model_name='transaction',
            index=models.Index(condition=models.Q(('freeze__isnull', False)), fields=['freeze'], name='registry_tx_freeze_idx'),
        ),
        migrations.AddIndex(
            model_name='transaction',
            index=models.Index(condition=models.Q(('job__isnull', False)), fields=['job'], name='registry_tx_job_idx'),
        ),
        migrations.AddIndex(
            model_name='transaction',
            index=models.Index(condition=models.Q(('proposed_by__isnull', False)), fields=['proposed_by'], name='registry_tx_proposed_by_idx'),
        ),
        migrations.AddIndex(
            model_name='transaction',
            index=models.Index(condition=models.Q(('approved_by__isnull', False)), fields=['approved_by'], name='registry_tx_approved_by_idx'),
        ),
        migrations.RunPython(create, drop),
    ]
