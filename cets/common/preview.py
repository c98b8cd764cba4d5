"""Show what an irreversible action will do by doing it and undoing it.

``dry_run(work)`` runs ``work()`` (a service call and the reads that describe its result) in a transaction
that is always rolled back, and returns what it returned. The preview then obeys the very rules, locks and
serial order of the real call, and keeps nothing: no row, no audit entry, no task (tasks are enqueued on
commit). A broken rule is raised as the real call would raise it, before the person is asked to confirm.
"""

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction

from .calendar import calendar_forget_years

T = TypeVar("T")


class _Undo(Exception):
    """Leaves the dry run's atomic block so that everything it wrote is rolled back."""


def dry_run(work: Callable[[], T]) -> T:
    result: list[T] = []
    try:
        with transaction.atomic():
            result.append(work())
            raise _Undo
    except _Undo:
        # A process cache filled inside the undone transaction would outlive its rows: the calendar's years
        # (a dry run may be the first to fill a year) are forgotten and read again.
        calendar_forget_years()
    return result[0]


def is_confirmed(request) -> bool:
    """The person saw the preview and pressed its confirm button (``confirm=1`` posted with the same form)."""
    return request.POST.get("confirm") == "1"


def preview_or_do(request, work: Callable[[], T]) -> T:
    """``work()`` for real once confirmed, else its dry run: a portal form's two steps in one line."""
    return work() if is_confirmed(request) else dry_run(work)
