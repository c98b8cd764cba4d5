"""MRV fixtures: a fixed 'today', a test report, and a helper building a month's row."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from entities.models import Unit
from mrv import services

TODAY = dt.date(2024, 6, 20)


def multipart(body: dict) -> dict:
    """A JSON-shaped API body as multipart fields (so a file can go with it): ``unit_values[0]unit`` and so on."""
    out = {}
    for key, value in body.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out.update({f"{key}[{i}]{k}": v for i, row in enumerate(value) for k, v in row.items()})
        elif value is not None:
            out[key] = value
    return out


def post_report(client, body: dict):
    """An agency's verification report through the API: its figures with a conclusion and the file, multipart."""
    return client.post("/api/v1/mrv/verifications/", multipart({**body, **signed_report()}), format="multipart")


def signed_report(conclusion: str = "unqualified", reasons: str = "") -> dict:
    """What an agency's report carries besides its figures: a conclusion (with reasons) and the signed file."""
    return {"conclusion": conclusion, "conclusion_reasons": reasons,
            "report_file": SimpleUploadedFile("report.pdf", b"%PDF-1.4 verification report", "application/pdf")}


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


# ---- facilities of the industrial sectors (issue 15) --------------------------------------------------------

CEMENT_MONTH = {"fuels": [{"fuel": "bituminous", "consumption": "12500", "ncv": "22.0"}], "clinker_t": "100000",
                "substitutes": [{"material": "carbide_slag", "consumption": "5000"}]}
ALUMINIUM_MONTH = {"aluminium_t": "50000", "net_anode_consumption": "0.4"}
STEEL_MONTH = {
    "fuels": [{"fuel": "washed_coking_coal", "consumption": "220000"}, {"fuel": "anthracite", "consumption": "70000"}],
    "materials": [{"material": "limestone", "consumption": "30000"}],
    "products": [{"product": "crude_steel", "quantity": "400000"}, {"product": "tar", "quantity": "5000"}],
    "processes": {"sintering": {"inputs": [{"fuel": "coke", "consumption": "20000"}]},
                  "ironmaking": {"inputs": [{"fuel": "coke", "consumption": "150000"}],
                                 "outputs": [{"fuel": "bf_gas", "consumption": "20000"}]}},
    "ironmaking_output_t": "370000", "sinter_t": "500000"}


def _facility_entity(name, code, sector, attributes):
    import datetime as dt

    from tests import factories as f

    ent = f.EntityFactory(name=name, province=f.province("42"), city=f.city("420100"), sector_id=sector,
                          inclusion_year=2024)
    Unit.objects.create(entity=ent, sector_id=sector, code=code, name=code, attributes=attributes,
                        rated_power_mw=None, main_fuel="", commissioning_date=dt.date(2012, 1, 1))
    return ent


@pytest.fixture
def cement_entity(db):
    return _facility_entity("华新示范水泥有限公司", "HB-CEM-L1", "cement",
                            {"clinker_type": "portland", "design_capacity_tpd": 5000})


@pytest.fixture
def aluminium_entity(db):
    return _facility_entity("湖北示范铝业有限公司", "HB-AL-P1", "aluminium", {"capacity_t": 600000})


@pytest.fixture
def steel_entity(db):
    return _facility_entity("武汉示范钢铁有限公司", "HB-ST-01", "steel",
                            {"processes": ["coking", "sintering", "ironmaking", "bof"]})


@pytest.fixture
def facility_user():
    """``facility_user(entity)``: a carbon manager acting for ``entity``."""
    from entities.models import User
    from tests import factories as f

    def user(ent):
        return User.objects.filter(username=f"manager-{ent.pk}").first() or f.UserFactory(
            role=User.Role.ENTITY, entity=ent, username=f"manager-{ent.pk}")

    return user
