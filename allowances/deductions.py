"""Cuts of an entity's next allocation decided elsewhere (compliance, Art. 24), applied by the next run.

A deduction decision cannot withdraw a vintage that has not been issued yet, so it is recorded here
and ``services.run_calculate`` subtracts every pending deduction of an entity from the first run it
calculates for that entity (pre-allocation or true-up), marking it applied in the same transaction
(a retried run skips the entities it already committed, so a deduction applies once). The true-up
compares its allocation with the pre-allocation itself (not with what was handed over), so a cut made by the
pre-allocation is never given back.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError

from .models import AllocationDeduction, EntityAllocation


@transaction.atomic
def deduction_record(*, actor, entity, quantity: int, reference: str, reason: str) -> AllocationDeduction:
    """Record a decided deduction from ``entity``'s next allocation; one per ``reference`` (409 twice).

    The caller decides who may (compliance's four-eyes penalty); this only records and audits it.
    """
    if not isinstance(quantity, int) or quantity <= 0:
        raise DomainError(_("A deduction is a positive whole number of tonnes."), "invalid_quantity", "quantity")
    deduction, created = AllocationDeduction.objects.get_or_create(
        reference=reference, defaults={"entity": entity, "quantity_tco2": quantity, "reason": reason,
                                       "decided_by": actor})
    if not created:
        raise Conflict(_("The deduction %(ref)s was already recorded.") % {"ref": reference}, "deduction_exists",
                       "penalty")
    audit_record(actor=actor, action="allowances.deduction_record", obj=deduction,
                 after={"entity": entity.pk, "quantity": quantity, "reference": reference})
    return deduction


def pending_by_entity(entity_ids) -> dict[int, list[AllocationDeduction]]:
    """Pending deductions of these entities, locked (the run's chunk marks them applied)."""
    rows: dict[int, list[AllocationDeduction]] = {}
    for d in (AllocationDeduction.objects.select_for_update()
              .filter(entity_id__in=list(entity_ids), status=AllocationDeduction.Status.PENDING).order_by("pk")):
        rows.setdefault(d.entity_id, []).append(d)
    return rows


def mark_applied(pending: dict[int, list[AllocationDeduction]], rows: list[EntityAllocation]) -> None:
    """Mark the chunk's deductions applied in the entity allocation that subtracted them (audited)."""
    for ea in rows:
        for d in pending.get(ea.entity_id, []):
            changed = AllocationDeduction.objects.filter(pk=d.pk, status=AllocationDeduction.Status.PENDING).update(
                status=AllocationDeduction.Status.APPLIED, applied_in=ea)
            if changed:
                audit_record(actor=None, action="allowances.deduction_applied", obj=d,
                             after={"entity_allocation": ea.pk, "run": ea.run_id, "quantity": d.quantity_tco2})
