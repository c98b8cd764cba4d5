"""``registry_move``: one movement of units as one PostgreSQL call (the hot path of every transfer and trade).

It does exactly what ``registry.services._take`` + ``_place`` (+ the legs and both cached balances when a
transaction is given) do statement by statement from Python, which is what runs on SQLite: take the
sender's blocks in one state lowest serial first, delete the whole ones and shrink the last (its upper
part stays), then place the ranges at the recipient in the target state, merging each with the holder's
adjacent blocks in that state (not beyond ``p_merge_limit`` ranges: bulk moves insert). One round trip
instead of six or more; tests/registry/test_move_function.py checks both give the same ledger.
"""

from django.db import migrations

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
    starts bigint[] := '{}';
    ends bigint[] := '{}';
    n integer := 0;
    lo bigint;
    hi bigint;
    before_id bigint;
    before_merges boolean;
    after_id bigint;
    after_end bigint;
BEGIN
    FOR blk IN
        SELECT b.id, b.serial_start AS s, b.serial_end AS e FROM registry_block b
        WHERE b.account_id = p_from AND b.instrument_id = p_instrument
          AND b.reservation_id IS NOT DISTINCT FROM p_from_reservation
          AND b.freeze_id IS NOT DISTINCT FROM p_from_freeze
        ORDER BY b.serial_start
    LOOP
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
        UPDATE registry_holding
           SET total = total - p_quantity,
               reserved = reserved - CASE WHEN p_from_reservation IS NULL THEN 0 ELSE p_quantity END,
               frozen = frozen - CASE WHEN p_from_freeze IS NULL THEN 0 ELSE p_quantity END
         WHERE account_id = p_from AND instrument_id = p_instrument;
        UPDATE registry_holding SET total = total + p_quantity WHERE account_id = p_to AND instrument_id = p_instrument;
        IF NOT FOUND THEN
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
    operations = [migrations.RunPython(create, drop)]
