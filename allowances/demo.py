"""Demo allocation: the published plans come from migration 0002; here the 2024 true-up of the demo
entities (MRV's demo confirms 2024), a draft 2027 plan and one sandbox scenario.

Idempotent: each step is skipped when what it would create exists. The true-up is started by
``mee`` and approved by a second national regulator ``mee2`` (four-eyes), then issued through the
registry.
"""

from django_otp.plugins.otp_totp.models import TOTPDevice

from cets.common.errors import DomainError
from entities.demo import DEMO_PASSWORD
from entities.models import User

from . import services
from .models import AllocationPlan, AllocationRun, Scenario

YEAR = 2024


def _second_national() -> User:
    user, created = User.objects.get_or_create(username="mee2", defaults={
        "role": User.Role.NATIONAL_REGULATOR, "is_staff": True})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    TOTPDevice.objects.get_or_create(user=user, name="demo authenticator", defaults={"confirmed": True})
    return user


def seed(out, base) -> None:
    from mrv import selectors as mrv_selectors

    mee, mee2 = base["users"]["mee"], _second_national()
    base["users"]["mee2"] = mee2
    confirmed = mrv_selectors.verification_confirmed_entity_ids(YEAR)
    done = []
    if confirmed and not AllocationRun.objects.filter(year=YEAR, kind=AllocationRun.Kind.TRUE_UP).exists():
        try:
            run = services.run_start(actor=mee, year=YEAR, kind=AllocationRun.Kind.TRUE_UP)
        except DomainError as exc:
            out.write(f"allowances: 2024 true-up skipped ({exc.message})")
        else:
            services.run_approve(actor=mee2, run=AllocationRun.objects.get(pk=run.pk))
            done.append(f"2024 true-up issued ({AllocationRun.objects.get(pk=run.pk).total_tco2:,} t)")
    if not AllocationPlan.objects.filter(code="2027").exists():
        services.plan_draft_create(actor=mee, source=AllocationPlan.objects.get(code="2026"), code="2027",
                                   first_year=2027, last_year=2027)
        done.append("draft plan 2027")
    if confirmed and not Scenario.objects.exists():
        services.scenario_create(actor=mee, plan=AllocationPlan.objects.get(code="2024"),
                                 name="Coal I benchmark -1% on 2024 data", data_year=YEAR,
                                 overrides={"electricity": {"I": "0.7831"}})
        done.append("one sandbox scenario")
    out.write("allowances: " + (", ".join(done) or "nothing new"))
