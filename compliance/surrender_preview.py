"""What a surrender will do, shown before it is done and said after it is done.

The preview runs ``services.surrender`` itself inside a transaction that is always rolled back: the same rules,
the same locks, the same serial ranges the ledger would move, and nothing kept (no registry transaction, no
audit entry, no task: tasks are enqueued on commit). A rule the surrender would break is raised here, before the
person is asked to confirm, next to the field it is about.
"""

from django.db import transaction

from registry import selectors as registry_selectors

from . import services
from .models import Obligation, SurrenderStep


class _RolledBack(Exception):
    """Leaves the preview's atomic block so that everything it wrote is undone."""


def _fresh(obligation: Obligation) -> Obligation:
    return Obligation.objects.select_related("cycle", "entity").get(pk=obligation.pk)


def surrender_outcome(obligation: Obligation, steps: list[SurrenderStep], *, remaining_before: int) -> dict:
    """The steps with the serial ranges their registry transactions moved, and the obligation before/after."""
    legs = registry_selectors.legs_of(step.registry_transaction_id for step in steps)
    after = _fresh(obligation)
    return {
        "steps": [{"kind": step.get_kind_display(), "instrument": step.instrument_code, "quantity": step.quantity,
                   "late": step.late, "transaction": step.registry_transaction_id,
                   "serials": [leg.instrument.serial_range(leg.serial_start, leg.serial_end) for leg in legs
                               if leg.transaction_id == step.registry_transaction_id]} for step in steps],
        "total": sum(step.quantity for step in steps),
        "remaining_before": remaining_before,
        "remaining_after": after.remaining_tco2,
        "late": any(step.late for step in steps),
        "deadline": after.cycle.deadline,
    }


def surrender_preview(*, actor, obligation: Obligation, items: list) -> dict:
    """``surrender_outcome`` of a surrender that is done and undone at once (raises the surrender's errors)."""
    outcome = {}
    try:
        with transaction.atomic():
            before = _fresh(obligation).remaining_tco2
            steps = services.surrender(actor=actor, obligation=obligation, items=items)
            outcome = surrender_outcome(obligation, steps, remaining_before=before)
            raise _RolledBack
    except _RolledBack:
        pass
    return outcome


def surrender_confirmed(*, actor, obligation: Obligation, items: list) -> dict:
    """Do the surrender and say what it did, in the preview's terms."""
    with transaction.atomic():
        before = _fresh(obligation).remaining_tco2
        steps = services.surrender(actor=actor, obligation=obligation, items=items)
        return surrender_outcome(obligation, steps, remaining_before=before)
