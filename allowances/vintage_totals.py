"""The plan's total for a vintage, and the registry cap that follows it (issue 14, point 7).

"Never above the plan's total for the vintage": the total is what the allocation process has
determined for that vintage, added up entry by entry:
- an approved allocation run of the year (pre-allocation, true-up): what it issues, i.e. the sum of
  its entities' positive differences (over-allocations are withdrawn into the national allocation
  account, which creates nothing, so they do not lower the total);
- an approved borrowing of that vintage (the province's approval of next-vintage CEAs);
- a carry-over into the vintage (CEA 2025), added when it is proposed and taken back if it is rejected
  (``vintage_total_withdraw``).

Each addition raises the registry's ``Instrument.issuance_cap`` to the new total in the same
database transaction (``registry.services.instrument_set_issuance_cap``), so every issuance proposal,
an allocation run's, a borrowing's or a regulator's manual one through the registry, is refused
beyond it (``above_plan_total``). A vintage the allocation process has determined nothing for keeps
no cap (CEA19-20 to CEA22 holdings brought from before the registry; the registry's own rule).

Concurrency: the ``VintageTotal`` row is locked before the registry's instrument row (always in this
order), so two determinations of one vintage add up one after the other and the cap is never set
from a stale sum.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import DomainError
from cets.common.locks import lock_rows

from .models import VintageTotal, VintageTotalEntry

Source = VintageTotalEntry.Source


def vintage_total(vintage: int) -> int:
    """The determined total of ``vintage`` in tonnes (0 when nothing was determined)."""
    return VintageTotal.objects.filter(vintage=vintage).values_list("total_tco2", flat=True).first() or 0


@transaction.atomic
def vintage_total_add(*, actor, vintage: int, source: str, quantity: int, reference: str) -> VintageTotal:
    """Add a determination to ``vintage``'s total and raise the registry's cap of the vintage to it.

    Idempotent by ``reference``: a second call with the same reference changes nothing. Refused with
    the registry's rule (``below_issued``) when more is already issued or pending than the new total,
    i.e. units were issued outside the plan: nothing is recorded then.
    """
    from registry import services as registry

    if source not in Source.values:
        raise DomainError(_("Unknown source %(s)s.") % {"s": source}, "invalid_source", "source")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise DomainError(_("A determined quantity must be a positive whole number of tonnes."), "invalid_quantity",
                          "quantity")
    VintageTotal.objects.get_or_create(vintage=vintage)
    (total,) = lock_rows(VintageTotal.objects.filter(vintage=vintage))
    if VintageTotalEntry.objects.filter(reference=reference).exists():
        return total
    before = total.total_tco2
    VintageTotalEntry.objects.create(total=total, source=source, quantity_tco2=quantity, reference=reference,
                                     created_by=actor if getattr(actor, "pk", None) else None)
    total.total_tco2 = before + quantity
    total.save(update_fields=["total_tco2"])
    registry.instrument_set_issuance_cap(actor=None, instrument=registry.instrument_get_or_create_cea(vintage=vintage),
                                         cap=total.total_tco2, reference=reference)
    audit_record(actor=actor, action="allowances.vintage_total.add", obj=total, before={"total_tco2": before},
                 after={"total_tco2": total.total_tco2, "source": source, "quantity_tco2": quantity,
                        "reference": reference})
    return total


@transaction.atomic
def vintage_total_withdraw(*, actor, reference: str) -> VintageTotal | None:
    """Take back the determination recorded under ``reference`` (a rejected carry-over): the total and the
    registry's cap go down by it. Call it after the issuance it covered was rejected, so the registry's rule
    (never below issued + pending) holds; idempotent (nothing recorded: nothing to do)."""
    from registry import services as registry

    entry = VintageTotalEntry.objects.filter(reference=reference).select_related("total").first()
    if entry is None:
        return None
    (total,) = lock_rows(VintageTotal.objects.filter(pk=entry.total_id))
    before = total.total_tco2
    total.total_tco2 = before - entry.quantity_tco2
    total.save(update_fields=["total_tco2"])
    entry.delete()
    registry.instrument_set_issuance_cap(actor=None, instrument=registry.instrument_get_or_create_cea(
        vintage=total.vintage), cap=total.total_tco2, reference=reference)
    audit_record(actor=actor, action="allowances.vintage_total.withdraw", obj=total, before={"total_tco2": before},
                 after={"total_tco2": total.total_tco2, "reference": reference})
    return total
