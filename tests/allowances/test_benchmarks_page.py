"""Intensity against the allocation benchmark, unit by unit (allowances reads mrv's monthly data)."""

from decimal import Decimal

import pytest

from mrv import services as mrv_services
from tests.conftest import otp_login
from tests.mrv.conftest import month_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def january(entity_user, entity):
    from entities.models import Unit

    unit = Unit.objects.get(code="HB-WH-01")
    mrv_services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=1, year=2024)])
    return unit


def test_entity_sees_each_unit_against_its_category_benchmark(client, entity_user, entity, january):
    client.force_login(entity_user)
    page = client.get(f"/allowances/benchmarks/{entity.pk}/?year=2024").content.decode()
    row = page.split('data-testid="unit-HB-WH-01"')[1].split("</tr>")[0]
    # 2341.393 t over 300,000 MWh = 0.0078 t/MWh against the 2024 category I benchmark 0.7910: 0.7832 below.
    assert "0.0078" in row and "0.7910" in row and "-0.7832" in row
    assert "HB-WH-02" in page  # the unit without data is listed too


def test_selector_gives_the_gap_as_a_decimal(entity, january):
    import datetime as dt

    from allowances.selectors import intensity_against_benchmarks

    rows = {r["unit"].code: r for r in intensity_against_benchmarks(entity, 2024, today=dt.date(2024, 3, 1))}
    assert (rows["HB-WH-01"]["benchmark"], rows["HB-WH-01"]["gap"]) == (Decimal("0.7910"), Decimal("-0.7832"))
    assert rows["HB-WH-02"]["intensity"] is None and rows["HB-WH-02"]["gap"] is None


@pytest.mark.parametrize("who", ["other_entity_user", "guangdong"])
def test_another_entity_or_jurisdiction_is_refused(client, request, entity, january, who):
    otp_login(client, request.getfixturevalue(who))
    assert client.get(f"/allowances/benchmarks/{entity.pk}/?year=2024").status_code == 404


def test_hubei_regulator_sees_it_and_a_bad_year_is_not_found(client, hubei, entity, january):
    otp_login(client, hubei)
    assert "0.7910" in client.get(f"/allowances/benchmarks/{entity.pk}/?year=2024").content.decode()
    assert client.get(f"/allowances/benchmarks/{entity.pk}/?year=20x4").status_code == 404
