"""The ledger invariants (issue 3, point 6), checked with set-based SQL so 10 million blocks take seconds.

1. Per instrument the blocks are disjoint, lie within the issued serials, and their sizes add up to
   exactly what was issued (so their union *is* the issued range); issued equals the sum of the
   issuance legs. Surrendered, cancelled, retired and deleted units stay in national accounts and count.
2. Every cached balance (total, reserved, frozen) equals the sum of its blocks, and equals the
   account's legs in minus legs out.
3. No available balance is negative.
4. Every completed transaction's legs conserve units (legs add up to its quantity, each leg's
   quantity is its serial range); a chunked allocation still running never exceeds its quantity.
5. Open reservations and active freezes hold exactly their blocks; closed ones hold none.
"""

from django.db import connection

from .models import Transaction


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def ledger_check(limit: int = 20) -> list[str]:
    """Return the broken invariants, each a sentence naming the rows (empty list: the ledger is sound)."""
    problems: list[str] = []

    def add(found, describe):
        for row in found[:limit]:
            problems.append(describe(row))
        if len(found) > limit:
            problems.append(f"... and {len(found) - limit} more of the same kind")

    # 1. disjoint blocks (a block starting at or before the previous block's end overlaps it)
    add(_rows("""
        SELECT instrument_id, id, serial_start, prev_end FROM (
          SELECT instrument_id, id, serial_start,
                 MAX(serial_end) OVER (PARTITION BY instrument_id ORDER BY serial_start, id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
          FROM registry_block) b
        WHERE prev_end IS NOT NULL AND serial_start <= prev_end"""),
        lambda r: f"instrument {r[0]}: block #{r[1]} starting at {r[2]} overlaps a block ending at {r[3]}")
    # 1. union = issued
    add(_rows("""
        SELECT i.id, i.code, i.next_serial - 1, COALESCE(b.units, 0), b.lo, b.hi, COALESCE(l.issued, 0)
        FROM registry_instrument i
        LEFT JOIN (SELECT instrument_id, SUM(serial_end - serial_start + 1) AS units, MIN(serial_start) AS lo,
                          MAX(serial_end) AS hi FROM registry_block GROUP BY instrument_id) b ON b.instrument_id = i.id
        LEFT JOIN (SELECT l.instrument_id, SUM(l.quantity) AS issued FROM registry_transactionleg l
                   JOIN registry_transaction t ON t.id = l.transaction_id
                   WHERE t.kind = 'issuance' GROUP BY l.instrument_id) l ON l.instrument_id = i.id
        WHERE COALESCE(b.units, 0) <> i.next_serial - 1 OR COALESCE(l.issued, 0) <> i.next_serial - 1
           OR b.lo < 1 OR b.hi > i.next_serial - 1"""),
        lambda r: f"instrument {r[1]}: issued {r[2]} (issuance legs {r[6]}), blocks hold {r[3]} "
                  f"in serials {r[4]}..{r[5]}")
    # 2. cached balances = blocks
    add(_rows("""
        SELECT COALESCE(h.account_id, b.account_id), COALESCE(h.instrument_id, b.instrument_id),
               h.total, h.reserved, h.frozen, b.total, b.reserved, b.frozen
        FROM registry_holding h
        FULL OUTER JOIN (
          SELECT account_id, instrument_id, SUM(serial_end - serial_start + 1) AS total,
                 SUM(CASE WHEN reservation_id IS NOT NULL THEN serial_end - serial_start + 1 ELSE 0 END) AS reserved,
                 SUM(CASE WHEN freeze_id IS NOT NULL THEN serial_end - serial_start + 1 ELSE 0 END) AS frozen
          FROM registry_block GROUP BY account_id, instrument_id) b
          ON b.account_id = h.account_id AND b.instrument_id = h.instrument_id
        WHERE COALESCE(h.total, 0) <> COALESCE(b.total, 0) OR COALESCE(h.reserved, 0) <> COALESCE(b.reserved, 0)
           OR COALESCE(h.frozen, 0) <> COALESCE(b.frozen, 0)""") if connection.vendor == "postgresql"
        else _sqlite_holdings_vs_blocks(),
        lambda r: f"account {r[0]} instrument {r[1]}: cached total/reserved/frozen {r[2]}/{r[3]}/{r[4]}, "
                  f"blocks {r[5]}/{r[6]}/{r[7]}")
    # 2. cached balance = legs in - legs out
    add(_rows("""
        SELECT h.account_id, h.instrument_id, h.total, COALESCE(i.n, 0) - COALESCE(o.n, 0)
        FROM registry_holding h
        LEFT JOIN (SELECT to_account_id AS a, instrument_id, SUM(quantity) AS n FROM registry_transactionleg
                   GROUP BY to_account_id, instrument_id) i ON i.a = h.account_id AND i.instrument_id = h.instrument_id
        LEFT JOIN (SELECT from_account_id AS a, instrument_id, SUM(quantity) AS n FROM registry_transactionleg
                   WHERE from_account_id IS NOT NULL GROUP BY from_account_id, instrument_id) o
          ON o.a = h.account_id AND o.instrument_id = h.instrument_id
        WHERE h.total <> COALESCE(i.n, 0) - COALESCE(o.n, 0)"""),
        lambda r: f"account {r[0]} instrument {r[1]}: cached total {r[2]}, legs in minus out {r[3]}")
    # 3. no negative available balance
    add(_rows("SELECT account_id, instrument_id, total - reserved - frozen FROM registry_holding "
              "WHERE total - reserved - frozen < 0 OR reserved < 0 OR frozen < 0"),
        lambda r: f"account {r[0]} instrument {r[1]}: available balance {r[2]} is negative")
    # 4. legs conserve units
    add(_rows("""
        SELECT t.id, t.kind, t.status, t.quantity, COALESCE(SUM(l.quantity), 0)
        FROM registry_transaction t LEFT JOIN registry_transactionleg l ON l.transaction_id = t.id
        WHERE t.kind NOT IN ('freeze', 'unfreeze')
        GROUP BY t.id, t.kind, t.status, t.quantity
        HAVING (t.status IN ('completed', 'reversed') AND COALESCE(SUM(l.quantity), 0) <> t.quantity)
            OR (t.status NOT IN ('completed', 'reversed') AND COALESCE(SUM(l.quantity), 0) > t.quantity)
            OR (t.status NOT IN ('completed', 'reversed', 'processing') AND COUNT(l.id) > 0)"""),
        lambda r: f"transaction #{r[0]} ({r[1]}, {r[2]}): quantity {r[3]}, legs move {r[4]}")
    add(_rows("SELECT id, transaction_id FROM registry_transactionleg "
              "WHERE quantity <> serial_end - serial_start + 1 OR serial_start < 1"),
        lambda r: f"leg #{r[0]} of transaction #{r[1]}: quantity differs from its serial range")
    add(_rows("""
        SELECT l.id, l.transaction_id FROM registry_transactionleg l
        JOIN registry_transaction t ON t.id = l.transaction_id WHERE l.instrument_id <> t.instrument_id"""),
        lambda r: f"leg #{r[0]} of transaction #{r[1]}: instrument differs from its transaction's")
    # 5. reservations and freezes hold exactly their blocks
    add(_rows("""
        SELECT r.id, r.status, r.quantity, COALESCE(SUM(b.serial_end - b.serial_start + 1), 0)
        FROM registry_reservation r LEFT JOIN registry_block b ON b.reservation_id = r.id
        GROUP BY r.id, r.status, r.quantity
        HAVING COALESCE(SUM(b.serial_end - b.serial_start + 1), 0) <>
               CASE WHEN r.status = 'open' THEN r.quantity ELSE 0 END"""),
        lambda r: f"reservation #{r[0]} ({r[1]}): records {r[2]} units, its blocks hold {r[3]}")
    add(_rows("""
        SELECT f.id, f.status, f.quantity, COALESCE(SUM(b.serial_end - b.serial_start + 1), 0)
        FROM registry_freeze f LEFT JOIN registry_block b ON b.freeze_id = f.id
        GROUP BY f.id, f.status, f.quantity
        HAVING COALESCE(SUM(b.serial_end - b.serial_start + 1), 0) <>
               CASE WHEN f.status = 'active' THEN f.quantity ELSE 0 END"""),
        lambda r: f"freeze #{r[0]} ({r[1]}): records {r[2]} units, its blocks hold {r[3]}")
    # a transaction marked reversed has its completed reversal
    add(list(Transaction.objects.filter(status="reversed").exclude(reversed_by__status="completed")
             .values_list("pk", flat=True)),
        lambda pk: f"transaction #{pk} is marked reversed without a completed reversal")
    return problems


def _sqlite_holdings_vs_blocks() -> list[tuple]:
    """SQLite before 3.39 lacks FULL OUTER JOIN: two LEFT JOINs, one each way."""
    blocks = """(SELECT account_id, instrument_id, SUM(serial_end - serial_start + 1) AS total,
                 SUM(CASE WHEN reservation_id IS NOT NULL THEN serial_end - serial_start + 1 ELSE 0 END) AS reserved,
                 SUM(CASE WHEN freeze_id IS NOT NULL THEN serial_end - serial_start + 1 ELSE 0 END) AS frozen
                 FROM registry_block GROUP BY account_id, instrument_id)"""
    one = _rows(f"""
        SELECT h.account_id, h.instrument_id, h.total, h.reserved, h.frozen, b.total, b.reserved, b.frozen
        FROM registry_holding h LEFT JOIN {blocks} b ON b.account_id = h.account_id
          AND b.instrument_id = h.instrument_id
        WHERE h.total <> COALESCE(b.total, 0) OR h.reserved <> COALESCE(b.reserved, 0)
           OR h.frozen <> COALESCE(b.frozen, 0)""")
    two = _rows(f"""
        SELECT b.account_id, b.instrument_id, NULL, NULL, NULL, b.total, b.reserved, b.frozen
        FROM {blocks} b LEFT JOIN registry_holding h ON b.account_id = h.account_id
          AND b.instrument_id = h.instrument_id WHERE h.id IS NULL""")
    return one + two
