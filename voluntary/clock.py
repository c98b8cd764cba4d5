"""Today's date for every deadline of the voluntary market, in one place.

Disclosure windows and registration deadlines are counted in working days from "today". The demo
replays a project's real history (a disclosure in 2024, an issuance in 2025), and tests step through
20-working-day windows, so both set the date with ``frozen(day)`` instead of patching the library.
"""

import datetime as dt
import threading

from django.utils import timezone

from cets.common import clock

_state = threading.local()


def today() -> dt.date:
    """The business date in Asia/Shanghai (or the date fixed by ``frozen``, else the date of
    ``cets.common.clock``: the wall clock's unless a replay runs as of a business moment)."""
    return getattr(_state, "day", None) or timezone.localdate(clock.now())


def frozen(day: dt.date):
    """Run the block as if it were ``day`` (nested blocks restore the outer date)."""
    return clock.overriding(_state, "day", day)
