"""Verified MRV data for allocation tests, written straight into MRV's tables (MRV's own tests cover
how it gets there); and a second national regulator for four-eyes."""

from decimal import Decimal as D

import pytest

from entities.models import User
from mrv.models import Verification, VerifiedUnitValue
from tests import factories as f


def verify(entity, year: int, units: dict, *, status="confirmed"):
    """Confirm ``year`` for ``entity``; ``units`` maps unit code -> dict of VerifiedUnitValue figures."""
    total = sum(D(str(v["emissions_tco2"])) for v in units.values())
    verification = Verification.objects.create(entity=entity, year=year, status=status,
                                               verified_emissions_tco2=total)
    for code, values in units.items():
        figures = {"electricity_generated_mwh": 0, "electricity_supplied_mwh": 0, "heat_supplied_gj": 0,
                   "load_factor": 1, "heat_supply_ratio": 0, **values}
        VerifiedUnitValue.objects.create(verification=verification, unit=entity.units.get(code=code),
                                         **{k: D(str(v)) for k, v in figures.items()})
    return verification


@pytest.fixture
def national2(db):
    return f.regulator(User.Role.NATIONAL_REGULATOR, username="mee2")


@pytest.fixture
def client():
    """Pages in English (the site default is Simplified Chinese), so assertions can quote the English strings."""
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")
