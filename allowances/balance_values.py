"""Balance values of the intensity plans: solved on the year's confirmed verified facilities, published as rows
(``BalanceValue``), required before a true-up allocates by intensity."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden
from entities.models import User

from .models import AllocationPlan, BalanceValue


def require_published(year: int) -> None:
    """The true-up of an intensity sector uses its published balance value: refuse until it is published."""
    from mrv import selectors as mrv_selectors

    from . import industry, selectors

    plans = selectors.industry_plans(year)
    sectors = {industry.sector_of(r) for r in mrv_selectors.verified_unit_data(year, sectors=list(plans))}
    missing = sorted(s for s in sectors if s in plans and not plans[s].rules.all_verified
                     and plans[s].balance_value is None)
    if missing:
        raise DomainError(_("True-up refused: publish the balance value of %(s)s for %(year)s first.")
                          % {"s": ", ".join(missing), "year": year}, "balance_value_missing", "year")


@transaction.atomic
def balance_value_publish(*, actor, plan: AllocationPlan, year: int) -> BalanceValue:
    """Solve an intensity plan's balance value on the year's confirmed verified facilities and publish it.

    One national regulator publishes (the value follows mechanically from confirmed data and the plan,
    so there is nothing for a second pair of eyes to decide; the true-up it feeds is four-eyes). Once
    published it is not re-solved: a changed verification re-determines allocations, not the value.
    """
    from mrv import selectors as mrv_selectors

    from . import industry, intensity, selectors

    if getattr(actor, "role", None) != User.Role.NATIONAL_REGULATOR:
        raise Forbidden(_("Only the national regulator may publish balance values."))
    if plan.method != AllocationPlan.Method.INTENSITY or plan.status != AllocationPlan.Status.PUBLISHED:
        raise DomainError(_("Plan %(code)s is not a published intensity plan.") % {"code": plan.code},
                          "not_intensity_plan", "plan")
    if year not in plan.years:
        raise DomainError(_("Plan %(code)s does not cover %(year)s.") % {"code": plan.code, "year": year},
                          "year_not_in_plan", "year")
    if BalanceValue.objects.filter(plan=plan, year=year).exists():
        raise Conflict(_("The balance value of %(code)s %(year)s is already published.")
                       % {"code": plan.code, "year": year}, "balance_value_published", "year")
    sector_plan = selectors.industry_plans(year)[plan.sector_id]
    rows = mrv_selectors.verified_unit_data(year, sectors=[plan.sector_id])  # the sector's own facilities only
    facilities = industry.sector_facilities({plan.sector_id: sector_plan}, rows).get(plan.sector_id, [])
    value = intensity.solve_balance_value(sector_plan.rules, facilities)
    if value is None:
        raise DomainError(_("No confirmed verified %(s)s facility to solve the balance value on.")
                          % {"s": plan.sector_id}, "no_verified_data", "year")
    solved_from = {"facilities": len(facilities), "exempt": sum(1 for f in facilities if f.exemption),
                   "emissions_tco2": sum(intensity.tonnes(f.verified_emissions_tco2) for f in facilities)}
    row = BalanceValue.objects.create(plan=plan, year=year, value=value, confidence="A", solved_from=solved_from,
                                      note=_("solved on the confirmed verified data of %(year)s") % {"year": year},
                                      published_by=actor, published_at=timezone.now())
    audit_record(actor=actor, action="balance_value.publish", obj=row,
                 after={"plan": plan.code, "year": year, "value": str(value), **solved_from})
    return row
