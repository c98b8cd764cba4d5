"""Demo compliance data: the 2024 annual obligations from the demo's confirmed verifications, a first
surrender step by the first entity, and a risk scan with its warnings. Idempotent; the cycle stays open
so the closing job can be tried from the admin."""

from django.utils import timezone

from registry import selectors as registry_selectors
from registry import services as registry

from . import services
from .models import ComplianceCycle, Obligation


def seed(out, base) -> None:
    mee = base["users"]["mee"]
    cycle = ComplianceCycle.objects.get(code="2024")
    if cycle.status != ComplianceCycle.Status.OPEN:
        out.write("compliance: cycle 2024 already closed")
        return
    result = services.obligations_calculate(actor=mee, cycle=cycle, year=2024)
    first = base["entities"][0]
    obligation = Obligation.objects.filter(cycle=cycle, entity=first, year=2024).first()
    user = base["users"].get("huaneng")
    if obligation is not None and user is not None and not obligation.steps.exists():
        account = registry.account_for_entity(entity=first, create=False)
        cea21 = registry.instrument_get_or_create_cea(vintage=2021)
        held = registry_selectors.balance(account, cea21).available if account else 0
        quantity = min(held, obligation.remaining_tco2) // 2
        if quantity > 0:
            services.surrender(actor=user, obligation=obligation, items=[
                {"kind": "cea", "vintage": 2021, "quantity": quantity}])
    scan = services.risk_scan(cycle=cycle, on_date=timezone.localdate())
    out.write(f"compliance: 2024 obligations {result['created']} new, risk scan {scan['scanned']} entities, "
              f"{scan['at_risk']} at risk, {scan['warnings']} new warnings")
