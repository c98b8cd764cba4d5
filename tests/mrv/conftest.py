"""MRV fixtures: a fixed 'today', a test report, and a helper building a month's row."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from entities.models import Unit
from mrv import services

TODAY = dt.date(2024, 6, 20)


@pytest.fixture
def client():
    """The portal in English: page assertions read the English strings whatever locale is compiled."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def unit(entity):
    return Unit.objects.get(code="HB-WH-01")


@pytest.fixture
def chp_unit(entity):
    return Unit.objects.get(code="HB-WH-02")


@pytest.fixture
def report(entity, entity_user):
    return services.test_report_create(
        actor=entity_user, entity=entity, number="CMA-2024-0412", laboratory="湖北省煤炭质量检测中心",
        accreditation_number="CMA 201912345678", sample_id="S-2024-04", sample_date=dt.date(2024, 5, 2),
        report_date=dt.date(2024, 5, 10), carbon_content=Decimal("0.6"), ncv=Decimal("22.5"))


def month_row(unit, month=4, year=2024, **over):
    row = {"unit": unit, "year": year, "month": month, "electricity_generated_mwh": "300000",
           "electricity_supplied_mwh": "282000", "heat_supplied_gj": "0", "operating_hours": "700",
           "load_factor": "0.82", "purchased_electricity_mwh": "0",
           "fuels": [{"fuel": "bituminous", "consumption": "1000", "ncv": "20.908"}]}
    row.update(over)
    return row
