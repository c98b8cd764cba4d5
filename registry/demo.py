"""Demo registry: accounts for the demo entities, a CEA21 issuance (four-eyes) and its allocation.

Idempotent: the allocation's reference marks the work as done; a rerun only opens missing accounts.
"""

from django.db.models import Sum
from django_otp.plugins.otp_totp.models import TOTPDevice

from entities.demo import DEMO_PASSWORD
from entities.models import User

from . import selectors, services
from .models import Transaction

REFERENCE = "demo-allocation-CEA21"
TONNES_PER_MW = 4_500  # roughly a year of a coal unit's allocation per MW of capacity


def _second_national_regulator() -> User:
    """Issuance needs two national regulators (four-eyes): ``mee2`` approves what ``mee`` proposes."""
    user, created = User.objects.get_or_create(username="mee2", defaults={"role": User.Role.NATIONAL_REGULATOR,
                                                                          "is_staff": True})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    TOTPDevice.objects.get_or_create(user=user, name="demo authenticator", defaults={"confirmed": True})
    return user


def seed(out, base) -> None:
    mee, mee2 = base["users"]["mee"], _second_national_regulator()
    accounts = {entity.pk: services.account_for_entity(entity=entity) for entity in base["entities"]}
    for kind in ("national_issuance", "national_allocation", "national_surrender", "national_deletion",
                 "national_ccer_cancellation", "national_voluntary_retirement"):
        services.national_account(kind=kind)
    if Transaction.objects.filter(kind=Transaction.Kind.ALLOCATION, reference=REFERENCE).exists():
        out.write("registry: demo already seeded")
        return
    instrument = services.instrument_get_or_create_cea(vintage=2021)
    allocations = {}
    for entity in base["entities"]:
        mw = entity.units.aggregate(mw=Sum("rated_power_mw"))["mw"] or 0
        allocations[accounts[entity.pk].pk] = int(mw * TONNES_PER_MW)
    need = sum(allocations.values()) + 1_000_000
    have = selectors.balance(services.national_account(kind="national_allocation"), instrument).available
    if have < need:  # an earlier run that stopped after issuing does not issue twice
        proposal = services.issuance_propose(actor=mee, instrument=instrument, quantity=need - have)
        services.transaction_approve(actor=mee2, transaction=proposal)
    services.allocation_execute(actor=mee, instrument=instrument, allocations=allocations, reference=REFERENCE)
    huaneng, zhujiang = accounts[base["entities"][0].pk], accounts[base["entities"][3].pk]
    services.transfer_create(actor=base["users"]["huaneng"], from_account=huaneng, to_account=zhujiang,
                             instrument=instrument, quantity=10_000, reference="demo bilateral transfer")
    out.write(f"registry: {len(accounts)} holding accounts, {sum(allocations.values()):,} CEA21 allocated, "
              f"a delayed transfer pending (mee2 approves issuances)")
