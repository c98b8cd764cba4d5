"""``registry_move``: one movement of units as one PostgreSQL call (the hot path of every transfer and trade).

It does exactly what ``registry.services._take`` + ``_place`` (+ the legs and both cached balances when a
transaction is given) do statement by statement from Python, which is what runs on SQLite: take the
sender's blocks in one state lowest serial first, delete the whole ones and shrink the last (its upper
part stays), then place the ranges at the recipient in the target state, merging each with the holder's
adjacent blocks in that state (not beyond ``p_merge_limit`` ranges: bulk moves insert). One round trip
instead of six or more; tests/registry/test_move_function.py checks both give the same ledger.

Blocks are taken through one partial index per state (an account's free blocks, a reservation's, a
freeze's): a busy trading account's blocks are mostly reserved, and filtering them all was the cost.
"""

import django.db.models.deletion
from django.db import migrations, models

FUNCTION = r"""
CREATE OR REPLACE FUNCTION registry_move(
    p_instrument bigint, p_quantity bigint,
    p_from bigint, p_from_reservation bigint, p_from_freeze bigint,
    p_to bigint, p_to_reservation bigint, p_to_freeze bigint,
    p_tx bigint, p_now timestamptz, p_merge_limit integer)
RETURNS TABLE (range_start bigint, range_end bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    need bigint := p_quantity;
    blk record;
    taking refcursor;
    starts bigint[] := '{}';
    ends bigint[] := '{}';
    n integer := 0;
    lo bigint;
    hi bigint;
    before_id bigint;
    before_merges boolean;
    after_id bigint;
    after_end bigint;
    updated integer;
BEGIN
    -- one query per state, each served by its own index (a hot account's blocks are mostly reserved)
    IF p_from_reservation IS NOT NULL THEN
        OPEN taking FOR SELECT b.id, b.serial_start AS s, b.serial_end AS e FROM registry_block b
                         WHERE b.reservation_id = p_from_reservation ORDER BY b.serial_start;
    ELSIF p_from_freeze IS NOT NULL THEN
        OPEN taking FOR SELECT b.id, b.serial_start AS s, b.serial_end AS e FROM registry_block b
                         WHERE b.freeze_id = p_from_freeze ORDER BY b.serial_start;
    ELSE
        OPEN taking FOR SELECT b.id, b.serial_start AS s, b.serial_end AS e FROM registry_block b
                         WHERE b.account_id = p_from AND b.instrument_id = p_instrument
                           AND b.reservation_id IS NULL AND b.freeze_id IS NULL
                         ORDER BY b.serial_start;
    END IF;
    LOOP
        FETCH taking INTO blk;
        EXIT WHEN NOT FOUND;
        IF blk.e - blk.s + 1 <= need THEN
            DELETE FROM registry_block WHERE id = blk.id;
            hi := blk.e;
        ELSE
            UPDATE registry_block SET serial_start = blk.s + need WHERE id = blk.id;
            hi := blk.s + need - 1;
        END IF;
        need := need - (hi - blk.s + 1);
        IF n > 0 AND ends[n] + 1 = blk.s THEN
            ends[n] := hi;
        ELSE
            n := n + 1;
            starts[n] := blk.s;
            ends[n] := hi;
        END IF;
        EXIT WHEN need = 0;
    END LOOP;
    CLOSE taking;
    IF need > 0 THEN
        RAISE EXCEPTION 'ledger_mismatch: the blocks of account % do not cover % units', p_from, p_quantity;
    END IF;

    IF n > p_merge_limit THEN
        INSERT INTO registry_block (instrument_id, account_id, serial_start, serial_end, reservation_id, freeze_id)
        SELECT p_instrument, p_to, u.s, u.e, p_to_reservation, p_to_freeze FROM unnest(starts, ends) AS u(s, e);
    ELSE
        FOR i IN 1..n LOOP
            lo := starts[i];
            hi := ends[i];
            -- the holder's nearest block below: merge when it ends right before and is in the same state
            SELECT b.id, b.serial_end = lo - 1 AND b.reservation_id IS NOT DISTINCT FROM p_to_reservation
                         AND b.freeze_id IS NOT DISTINCT FROM p_to_freeze
              INTO before_id, before_merges
              FROM registry_block b
             WHERE b.account_id = p_to AND b.instrument_id = p_instrument AND b.serial_start < lo
             ORDER BY b.serial_start DESC LIMIT 1;
            SELECT b.id, b.serial_end INTO after_id, after_end
              FROM registry_block b
             WHERE b.account_id = p_to AND b.instrument_id = p_instrument AND b.serial_start = hi + 1
               AND b.reservation_id IS NOT DISTINCT FROM p_to_reservation
               AND b.freeze_id IS NOT DISTINCT FROM p_to_freeze;
            IF after_id IS NOT NULL THEN  -- delete first: the merged range must not overlap it even for a moment
                DELETE FROM registry_block WHERE id = after_id;
                hi := after_end;
            END IF;
            IF before_merges THEN
                UPDATE registry_block SET serial_end = hi WHERE id = before_id;
            ELSE
                INSERT INTO registry_block (instrument_id, account_id, serial_start, serial_end, reservation_id,
                                            freeze_id)
                VALUES (p_instrument, p_to, lo, hi, p_to_reservation, p_to_freeze);
            END IF;
        END LOOP;
    END IF;

    IF p_tx IS NOT NULL THEN
        INSERT INTO registry_transactionleg (transaction_id, instrument_id, from_account_id, to_account_id,
                                             serial_start, serial_end, quantity, executed_at)
        SELECT p_tx, p_instrument, p_from, p_to, u.s, u.e, u.e - u.s + 1, p_now FROM unnest(starts, ends) AS u(s, e);
        -- both balances in one statement; the sender always has a holding, so one row means a new recipient
        UPDATE registry_holding
           SET total = total + CASE WHEN account_id = p_to THEN p_quantity ELSE -p_quantity END,
               reserved = reserved - CASE WHEN account_id = p_from AND p_from_reservation IS NOT NULL
                                          THEN p_quantity ELSE 0 END,
               frozen = frozen - CASE WHEN account_id = p_from AND p_from_freeze IS NOT NULL THEN p_quantity ELSE 0 END
         WHERE instrument_id = p_instrument AND account_id IN (p_from, p_to);
        GET DIAGNOSTICS updated = ROW_COUNT;
        IF updated < 2 THEN
            INSERT INTO registry_holding (account_id, instrument_id, total, reserved, frozen)
            VALUES (p_to, p_instrument, p_quantity, 0, 0);
        END IF;
    END IF;
    RETURN QUERY SELECT u.s, u.e FROM unnest(starts, ends) AS u(s, e);
END
$fn$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS registry_move(bigint, bigint, bigint, bigint, bigint, bigint, "
                              "bigint, bigint, bigint, timestamptz, integer)")


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_bulkwithdrawalline")]
    operations = [
        migrations.AlterField(
            model_name="block",
            name="freeze",
            field=models.ForeignKey(blank=True, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="blocks",
                                    to="registry.freeze"),
        ),
        migrations.AlterField(
            model_name="block",
            name="reservation",
            field=models.ForeignKey(blank=True, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="blocks",
                                    to="registry.reservation"),
        ),
        migrations.AddIndex(
            model_name="block",
            index=models.Index(fields=["account", "instrument", "serial_start"],
                               condition=models.Q(reservation__isnull=True, freeze__isnull=True),
                               name="registry_block_free_idx"),
        ),
        migrations.AddIndex(
            model_name="block",
            index=models.Index(fields=["reservation", "serial_start"], condition=models.Q(reservation__isnull=False),
                               name="registry_block_reserved_idx"),
        ),
        migrations.AddIndex(
            model_name="block",
            index=models.Index(fields=["freeze", "serial_start"], condition=models.Q(freeze__isnull=False),
                               name="registry_block_frozen_idx"),
        ),
        migrations.RunPython(create, drop),
    ]
