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

from django.conf import settings
from django.db import OperationalError, connection, transaction

from .errors import Busy

LOCK_ERRORS = {"55P03", "40P01"}  # lock_not_available, deadlock_detected


def _set_lock_timeout() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = %s", [f"{settings.LOCK_TIMEOUT_MS}ms"])


def lock_rows(queryset) -> list:
    """Lock the rows of ``queryset`` in primary-key order and return them."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_rows must run inside transaction.atomic()")
    _set_lock_timeout()
    try:
        no_key = connection.features.has_select_for_no_key_update  # PostgreSQL: FOR NO KEY UPDATE
        return list(queryset.order_by("pk").select_for_update(no_key=no_key, of=("self",)))
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) in LOCK_ERRORS:
            raise Busy() from exc
        raise


def advisory_lock(key: int) -> None:
    """A transaction-scoped advisory lock on PostgreSQL (serialises e.g. one product's matching)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("advisory_lock must run inside transaction.atomic()")
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers already (IMMEDIATE transactions)
    _set_lock_timeout()
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) in LOCK_ERRORS:
            raise Busy() from exc
        raise
