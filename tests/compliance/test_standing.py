"""Compliance status follows the calendar: shortfall, status and rates before and after the deadline,
without waiting for the cycle's closing; the public list and report show them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from compliance import selectors, services, standing

from .conftest import BEFORE_DEADLINE, LATE

pytestmark = pytest.mark.django_db

ON_TIME_DAY = dt.date(2023, 12, 1)  # the 2021-2022 deadline is 2023-12-31
A_YEAR_AFTER = dt.date(2024, 12, 31)


@pytest.fixture
def progress(obligations, entity, other_entity, entity_user, other_entity_user, give):
    """Hubei covers 2021 in full on time and nothing of 2022; Guangdong 200,000 of its 500,000 t."""
    give(entity, 2021, 1_000_000)
    give(other_entity, 2021, 500_000)
    services.surrender(actor=entity_user, obligation=obligations[(entity.pk, 2021)],
                       items=[{"kind": "cea", "vintage": 2021, "quantity": 1_000_000}], on_date=BEFORE_DEADLINE)
    services.surrender(actor=other_entity_user, obligation=obligations[(other_entity.pk, 2021)],
                       items=[{"kind": "cea", "vintage": 2021, "quantity": 200_000}], on_date=BEFORE_DEADLINE)
    for o in obligations.values():
        o.refresh_from_db()
    return obligations


def test_before_the_deadline_nothing_is_a_shortfall_yet(cycle, progress, entity, other_entity):
    report = selectors.cycle_report(cycle, on_date=ON_TIME_DAY)
    y2021, y2022 = report["years"][2021], report["years"][2022]
    assert (y2021["shortfall_tco2"], y2021["entities_failed"], y2021["entities_compliant"]) == (0, 0, 1)
    assert (y2022["shortfall_tco2"], y2022["entities_failed"]) == (0, 0)
    assert y2021["compliance_rate_pct"] == Decimal("80.00")  # 1,200,000 of 1,500,000 t so far
    assert report["entities_failed"] == 0
    assert selectors.non_compliant(cycle, on_date=ON_TIME_DAY).count() == 0
    assert standing.standing_of(progress[(other_entity.pk, 2021)], ON_TIME_DAY) == "open"
    assert standing.standing_of(progress[(entity.pk, 2021)], ON_TIME_DAY) == "compliant"
    assert selectors.status_counts(cycle, on_date=ON_TIME_DAY) == {"2021": {"compliant": 1, "open": 1},
                                                                    "2022": {"open": 1}}


def test_after_the_deadline_short_entities_are_non_compliant_without_closing(cycle, progress, entity,
                                                                              other_entity, other_entity_user):
    assert cycle.status == "open"
    report = selectors.cycle_report(cycle, on_date=A_YEAR_AFTER)
    y2021, y2022 = report["years"][2021], report["years"][2022]
    assert (y2021["shortfall_tco2"], y2021["entities"], y2021["entities_failed"], y2021["entity_rate_pct"],
            y2021["compliance_rate_pct"]) == (300_000, 2, 1, Decimal("50.00"), Decimal("80.00"))
    assert (y2022["shortfall_tco2"], y2022["entities_failed"], y2022["entity_rate_pct"],
            y2022["compliance_rate_pct"]) == (1_200_000, 1, Decimal("0.00"), Decimal("0.00"))
    assert report["entities_failed"] == 2
    hubei = [p for p in report["provinces"] if p["code"] == "42"][0]
    assert (hubei["years"][2022]["shortfall_tco2"], hubei["entities_failed"]) == (1_200_000, 1)
    rows = {(o.entity_id, o.year): (o.standing, o.shortfall_now)
            for o in selectors.non_compliant(cycle, on_date=A_YEAR_AFTER)}
    assert rows == {(other_entity.pk, 2021): ("partially_compliant", 300_000),
                    (entity.pk, 2022): ("non_compliant", 1_200_000)}
    assert standing.shortfall_of(progress[(entity.pk, 2022)], A_YEAR_AFTER) == 1_200_000

    # completing after the deadline: compliant late, still listed, no shortfall; the tonne rate stays
    services.surrender(actor=other_entity_user, obligation=progress[(other_entity.pk, 2021)],
                       items=[{"kind": "cea", "vintage": 2021, "quantity": 300_000}], on_date=LATE)
    late = {(o.entity_id, o.year): (o.standing, o.shortfall_now)
            for o in selectors.non_compliant(cycle, on_date=A_YEAR_AFTER)}
    assert late[(other_entity.pk, 2021)] == ("compliant_late", 0)
    y2021 = selectors.cycle_report(cycle, on_date=A_YEAR_AFTER)["years"][2021]
    assert (y2021["shortfall_tco2"], y2021["entities_failed"], y2021["compliance_rate_pct"]) == (
        0, 1, Decimal("80.00"))


def test_public_pages_show_the_real_shortfall_and_rates(client, cycle, progress):
    """Today (2026) is long after the 2023-12-31 deadline: the public pages say so before closing."""
    listing = client.get(reverse("compliance:public-list", args=["2021-2022"])).content.decode()
    assert "Partially compliant" in listing and "300,000" in listing
    assert "Non-compliant" in listing and "1,200,000" in listing
    csv = client.get(reverse("compliance:public-report", args=["2021-2022"]) + "?export=csv").content.decode(
        "utf-8-sig")
    assert "national,National,2021,0,1500000,-1500000,0.00,1500000,1200000,0,300000,80.00,2,1,50.00" in csv
    assert "national,National,2022,0,1200000,-1200000,0.00,1200000,0,0,1200000,0.00,1,1,0.00" in csv
    page = client.get(reverse("compliance:public-report", args=["2021-2022"])).content.decode()
    assert "<td>1,200,000</td><td>0.00</td><td>1</td><td>1</td><td>0.00</td>" in page


def test_api_obligation_reads_its_status_today_and_stays_scoped(api, progress, entity, entity_user,
                                                               other_entity_user, guangdong):
    ob = progress[(entity.pk, 2022)]
    detail = api(entity_user).get(f"/api/v1/compliance/obligations/{ob.pk}/").json()
    assert (detail["status"], detail["shortfall_tco2"], detail["remaining_tco2"]) == ("non_compliant", 1_200_000,
                                                                                     1_200_000)
    assert api(other_entity_user).get(f"/api/v1/compliance/obligations/{ob.pk}/").status_code == 404
    assert api(guangdong).get(f"/api/v1/compliance/obligations/{ob.pk}/").status_code == 404
