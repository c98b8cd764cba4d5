"""Row locks taken in one fixed order, with a timeout that becomes a "busy, retry" 409.

Every service that moves units or cash locks through ``lock_rows``: sorting by primary key before
``SELECT ... FOR UPDATE`` means two transactions touching the same rows always queue instead of
deadlocking, and the lock timeout turns a long wait into a clean refusal that changed nothing.

On PostgreSQL the lock is ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: an insert of a row whose foreign key
points at a locked row (a transaction leg or a holding referencing a locked account) takes ``FOR KEY SHARE``
on it, which ``FOR UPDATE`` blocks but ``FOR NO KEY UPDATE`` does not. Services never change a locked
row's primary key, so the weaker lock still serialises every writer of the row itself (two ``NO KEY UPDATE``
locks conflict) while other transactions' inserts referencing it go ahead instead of queueing.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection, transaction

from .errors import Busy
from .rows import fetch_rows

LOCK_ERRORS = {"55P03", "40P01"}  # lock_not_available, deadlock_detected


def lock_timeout_sql() -> str:
    """The statement that bounds lock waits for the rest of the transaction (PostgreSQL)."""
    return f"SET LOCAL lock_timeout = '{int(settings.LOCK_TIMEOUT_MS)}ms'"


def _set_lock_timeout() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(lock_timeout_sql())


@contextmanager
def busy_when_locked():
    """A lock wait past the timeout (or a deadlock) inside the block becomes ``Busy`` (409, retry)."""
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) in LOCK_ERRORS:
            raise Busy() from exc
        raise


def lock_rows(queryset) -> list:
    """Lock the rows of ``queryset`` in primary-key order and return them."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_rows must run inside transaction.atomic()")
    _set_lock_timeout()
    with busy_when_locked():
        no_key = connection.features.has_select_for_no_key_update  # PostgreSQL: FOR NO KEY UPDATE
        return list(queryset.order_by("pk").select_for_update(no_key=no_key, of=("self",)))


def lock_pks(model, pks, *, join: str = "", join_params=(), extra: tuple = ()) -> list:
    """``lock_rows`` for rows known by primary key, on hot paths: the lock timeout and the locking
    SELECT go in one round trip, with SQL built once per model. ``join``/``extra`` read related columns
    (not locked) in the same statement, as ``cets.common.rows.fetch_rows`` does."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_pks must run inside transaction.atomic()")
    pks = sorted(set(pks))
    table = connection.ops.quote_name(model._meta.db_table)
    pk = f"{table}.{connection.ops.quote_name(model._meta.pk.column)}"
    if connection.vendor != "postgresql":  # SQLite: the transaction already holds the database's write lock
        return fetch_rows(model, f"{pk} IN ({', '.join(['%s'] * len(pks))})", [*join_params, *pks], join=join,
                          extra=extra, suffix=f"ORDER BY {pk}")
    prefix = f"{lock_timeout_sql()}; "
    lock = f"FOR NO KEY UPDATE OF {table}"
    params = [*join_params, pks]
    if join:  # joined rows must be read by a later statement: one that waited for the lock saw them as before
        prefix += f"SELECT 1 FROM {table} WHERE {pk} = ANY(%s) ORDER BY {pk} {lock}; "
        params, lock = [pks, *params], ""
    with busy_when_locked():
        return fetch_rows(model, f"{pk} = ANY(%s)", params, prefix=prefix, join=join, extra=extra,
                          suffix=f"ORDER BY {pk} {lock}")


def advisory_lock(key: int) -> None:
    """A transaction-scoped advisory lock on PostgreSQL (serialises e.g. one product's matching)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("advisory_lock must run inside transaction.atomic()")
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers already (IMMEDIATE transactions)
    _set_lock_timeout()
    with busy_when_locked(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])
