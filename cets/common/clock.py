"""The business clock: the moment the ledger's and the exchange's timestamps read as "now".

In production it is the wall clock (``timezone.now()``), unchanged. A replay of history (the
``replay_cycle`` command) runs the real services as of a business datetime instead, so that what they
stamp (registry legs' ``executed_at``, the exchange's order and trade times) falls on the replayed day
and what reads those stamps later (the carry-over's holdings at the cut-off, net sales in the window)
sees the history the replay meant::

    with clock.as_of(dt.datetime(2025, 12, 15, 10, tzinfo=SHANGHAI)):
        surrender(...)   # its registry transaction is executed at 2025-12-15 10:00 (Asia/Shanghai)

The moment is per thread (a web request never sees a replay's), blocks nest and restore the outer
moment. ``voluntary.clock.today`` reads the date of this clock when no day of its own is frozen.
Services that take an explicit ``now=`` keep using it; the clock only replaces their default.
"""

import contextlib
import datetime as dt
import threading

from django.utils import timezone

_state = threading.local()


def now() -> dt.datetime:
    """The business moment (aware): the one set by ``as_of``, else the wall clock."""
    return getattr(_state, "moment", None) or timezone.now()


@contextlib.contextmanager
def overriding(state: threading.local, name: str, value):
    """Set ``state.name`` to ``value`` for the block, then restore what it was (nested blocks nest)."""
    previous = getattr(state, name, None)
    setattr(state, name, value)
    try:
        yield value
    finally:
        setattr(state, name, previous)


def as_of(moment: dt.datetime):
    """Run the block as if it were ``moment`` (an aware datetime; a naive one is refused)."""
    if timezone.is_naive(moment):
        raise ValueError("as_of needs an aware datetime")
    return overriding(_state, "moment", moment)
