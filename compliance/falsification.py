"""Art. 22 penalties for falsified emission data: propose, decide (four-eyes), and cut the next allocation
when the falsification is not corrected. The cut stays after 2026-08-15 (``compliance.penalties``).

Kept apart from ``compliance.services`` (failure to surrender) so each module stays small; both record
their cuts through ``allowances.deductions``, which the next allocation run applies once.
"""

from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.locks import lock_rows
from cets.common.money import yuan

from .models import FalsificationPenalty, Obligation
from .penalties import FALSIFICATION, check_cut_allowed
from .services import _require_regulator, _today, decide_proposed_penalty


def _cut_pct(value) -> int:
    try:
        pct = int(str(value))
    except (TypeError, ValueError):
        pct = 0
    if not 50 <= pct <= 100:
        raise DomainError(_("The cut for uncorrected falsification is 50 to 100 percent of the next allocation "
                            "(Art. 22)."),
                          "invalid_cut_pct", "cut_pct")
    return pct


@transaction.atomic
def falsification_propose(*, actor, obligation: Obligation, finding: str, fine, cut_pct) -> FalsificationPenalty:
    """A regulator of the entity's province proposes the fine and the cut rate for falsified data of a year."""
    if actor is None:
        raise Forbidden(_("A penalty proposal needs a person."))
    _require_regulator(actor, obligation.entity)
    if not (finding or "").strip():
        raise DomainError(_("State what was falsified."), "required", "finding")
    try:
        amount = yuan(fine)
    except Exception:
        amount = Decimal(0)
    if amount <= 0:
        raise DomainError(_("The fine is a positive amount in yuan."), "invalid_fine", "fine")
    penalty = FalsificationPenalty.objects.create(obligation=obligation, finding=finding.strip()[:500], fine=amount,
                                                  cut_pct=_cut_pct(cut_pct), proposed_by=actor)
    audit_record(actor=actor, action="compliance.falsification_propose", obj=penalty,
                 after={"obligation": obligation.pk, "fine": penalty.fine, "cut_pct": penalty.cut_pct})
    return penalty


@transaction.atomic
def falsification_decide(*, actor, penalty: FalsificationPenalty) -> FalsificationPenalty:
    """Another regulator than the proposer decides (four-eyes)."""
    return decide_proposed_penalty(actor=actor, penalty=penalty, action="compliance.falsification_decide")


@transaction.atomic
def falsification_cut_propose(*, actor, penalty: FalsificationPenalty):
    """The falsification was not corrected: cut ``cut_pct`` of the falsified year's allocation from the next
    allocation (whole tonnes, rounded down), recorded once in ``allowances.deductions``. Allowed on any
    date (``check_cut_allowed``: only the cut for failure to surrender ended on 2026-08-15)."""
    from allowances import deductions

    if actor is None:
        raise Forbidden(_("A deduction proposal needs a person."))
    _require_regulator(actor, penalty.obligation.entity)
    check_cut_allowed(FALSIFICATION, _today())
    (penalty,) = lock_rows(FalsificationPenalty.objects.filter(pk=penalty.pk))
    if penalty.status != FalsificationPenalty.Status.DECIDED:
        raise Conflict(_("Decide the penalty first."), "not_decided", "penalty")
    obligation = penalty.obligation
    quantity = int((Decimal(obligation.allocation_tco2) * penalty.cut_pct / 100).to_integral_value(ROUND_FLOOR))
    if quantity <= 0:
        raise Conflict(_("The entity had no allocation for %(y)s to base the cut on.") % {"y": obligation.year},
                       "no_allocation", "penalty")
    deduction = deductions.deduction_record(
        actor=actor, entity=obligation.entity, quantity=quantity, reference=f"falsification-{penalty.pk}",
        reason=_("Art. 22: data of %(y)s falsified and not corrected, %(p)s%% of the allocation deducted")
        % {"y": obligation.year, "p": penalty.cut_pct})
    audit_record(actor=actor, action="compliance.falsification_cut_propose", obj=penalty,
                 after={"allocation_deduction": deduction.pk, "quantity": quantity})
    return deduction
