"""What a surrender will do, shown before it is done and said after it is done.

The preview is ``surrender_done`` in a rolled-back transaction (``cets.common.preview.dry_run``): the same
rules and the same serial ranges the ledger would move, nothing kept.
"""

from django.db import transaction

from registry import selectors as registry_selectors

from . import services
from .models import Obligation, SurrenderStep


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


def surrender_done(*, actor, obligation: Obligation, items: list) -> dict:
    """Do the surrender and say what it did (``cets.common.preview.dry_run`` of it is the preview)."""
    with transaction.atomic():
        before = _fresh(obligation).remaining_tco2
        steps = services.surrender(actor=actor, obligation=obligation, items=items)
        return surrender_outcome(obligation, steps, remaining_before=before)
