"""The public disclosure of a cycle (Decree 775): each entity's verified emissions, allocation and outcome by
province and sector, with CSV, and the penalties once decided (a proposal stays internal)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance.models import Penalty

pytestmark = pytest.mark.django_db


def _penalty(obligation, proposer, decider=None, amount="5000000.00"):
    return Penalty.objects.create(
        obligation=obligation, shortfall_tco2=100_000, price_month=dt.date(2023, 11, 1),
        average_price=Decimal("70.00"), multiplier=Decimal("5"), amount=Decimal(amount),
        status=Penalty.Status.DECIDED if decider else Penalty.Status.PROPOSED, proposed_by=proposer,
        decided_by=decider, decided_at=timezone.now() if decider else None)


def test_entities_figures_by_province_with_export(client, obligations, entity, other_entity):
    page = client.get("/compliance/public/2021-2022/entities/").content.decode()
    assert entity.name_en in page and other_entity.name_en in page
    mine = obligations[(entity.pk, 2021)]
    assert mine.verified_emissions_tco2 == 1_000_000 and "1,000,000" in page
    guangdong = client.get("/compliance/public/2021-2022/entities/?province=44").content.decode()
    assert other_entity.name_en in guangdong and entity.name_en not in guangdong
    csv = client.get("/compliance/public/2021-2022/entities/?export=csv&province=42").content.decode("utf-8-sig")
    lines = csv.strip().splitlines()
    assert lines[0].startswith("Province,Sector,Entity,Credit code,Year,Verified emissions (t)")
    assert len(lines) == 3  # the Hubei entity's 2021 and 2022, not Guangdong's
    assert f"{entity.credit_code},2021,1000000," in lines[1] and f"{entity.credit_code},2022,1200000," in lines[2]


def test_only_decided_penalties_are_published(client, obligations, entity, other_entity, national, hubei):
    _penalty(obligations[(entity.pk, 2021)], hubei, national, amount="35000000.00")
    _penalty(obligations[(other_entity.pk, 2021)], hubei, amount="4200000.00")  # proposed only
    page = client.get("/compliance/public/2021-2022/entities/").content.decode()
    table = page[page.index('data-testid="penalties"'):]
    assert "35,000,000.00" in table and entity.name_en in table
    assert other_entity.name_en not in table and "4,200,000.00" not in table


def test_unknown_cycle_is_404(client, db):
    assert client.get("/compliance/public/1999/entities/").status_code == 404
