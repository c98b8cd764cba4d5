"""The public information portal at /: real figures from the data, no log-in form, the chart's JSON, search."""

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from entities.models import Sector, SectorListing
from trading.models import DailyBar, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(db):
    """CEA23 traded on three days; the last: listed 12,345 t, bulk 200,000 t, auction 5,000 t, close 81.50."""
    product = Product.objects.get(code="CEA23")
    DailyBar.objects.create(product=product, date=date(2026, 11, 30), close=Decimal("79.00"),
                            previous_close=Decimal("79.42"), listed_volume=1_000, listed_value=Decimal("79000.00"))
    DailyBar.objects.create(product=product, date=date(2026, 12, 1), close=Decimal("80.00"),
                            previous_close=Decimal("79.00"), listed_volume=2_000, listed_value=Decimal("160000.00"))
    DailyBar.objects.create(product=product, date=date(2026, 12, 2), close=Decimal("81.50"),
                            previous_close=Decimal("80.00"), listed_volume=12_345,
                            listed_value=Decimal("1006117.50"), bulk_volume=200_000,
                            bulk_value=Decimal("16000000.00"), auction_volume=5_000,
                            auction_value=Decimal("400000.00"))
    # An older product that last traded earlier is listed but is not the headline.
    DailyBar.objects.create(product=Product.objects.get(code="CEA22"), date=date(2026, 11, 2),
                            close=Decimal("70.00"), previous_close=Decimal("71.00"), listed_volume=99)
    return product


@pytest.fixture
def listed(entity, other_entity):
    power = Sector.objects.get(code="power")
    for ent in (entity, other_entity):
        SectorListing.objects.create(year=2025, sector=power, entity=ent, emissions_tco2=500_000)
    SectorListing.objects.create(year=2024, sector=power, entity=entity, emissions_tco2=480_000)
    return power


def _chart(html: str) -> dict:
    found = re.search(r'<script id="price-chart-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_home_shows_todays_market_and_no_login_form(client, market, listed):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="close">81.50<' in html
    assert 'data-testid="change">+1.50<' in html
    assert 'data-testid="volume">217,345<' in html  # 12,345 + 200,000 + 5,000 t
    volumes = re.search(r'data-testid="volume-by-method">(.*?)</table>', html, re.S).group(1)
    assert ">12,345<" in volumes and ">200,000<" in volumes and ">5,000<" in volumes
    assert 'data-testid="band">73.35 – 89.65<' in html  # 81.50 ± 10%
    assert 'name="password"' not in html and "<form method=\"post\"" not in html
    assert re.search(r'href="/login/"[^>]*data-testid="login-button"', html)


def test_home_discloses_the_lists_by_year_sector_and_province(client, market, listed):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = re.search(r'data-testid="key-entities">(.*?)data-testid="allocation-results"', html, re.S).group(1)
    rows = re.findall(r"<tr><td>(\d{4})</td>(.*?)</tr>", block, re.S)
    assert [(year, re.findall(r"<strong>(\d+)</strong>", cells)) for year, cells in rows] == [
        ("2025", ["2"]), ("2024", ["1"])]
    assert "Power" in block and "Hubei 1" in block and "Guangdong 1" in block


def test_chart_payload_has_closes_band_and_volume_by_method(client, market):
    chart = _chart(client.get("/").content.decode())
    assert chart["product"] == "CEA23"
    assert chart["dates"] == ["2026-11-30", "2026-12-01", "2026-12-02"]
    assert chart["close"] == ["79.00", "80.00", "81.50"]
    assert chart["band_low"] == ["71.48", "71.10", "72.00"]  # previous close - 10%, to the fen
    assert chart["band_high"] == ["87.36", "86.90", "88.00"]
    assert chart["volume_listed"] == [1000, 2000, 12345]
    assert chart["volume_bulk"] == [0, 0, 200000] and chart["volume_auction"] == [0, 0, 5000]
    assert set(chart["labels"]) >= {"close", "band_low", "band_high", "volume_listed", "volume_bulk"}


def test_home_without_trading_says_so(client, db):
    html = client.get("/").content.decode()
    assert 'data-testid="no-trading"' in html and "price-chart-data" not in html


def test_home_is_few_queries(client, market, listed, django_assert_max_num_queries):
    """A constant number of aggregate queries whatever the market's size (the registry's totals take six)."""
    with django_assert_max_num_queries(18):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(0):  # within the minute: from the cache
        assert b'data-testid="close">81.50<' in client.get("/").content


def test_logged_in_user_reaches_its_home_from_the_menu(client, entity_user, entity, market):
    client.force_login(entity_user)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/home/">Home<' in html and 'data-testid="login-button"' not in html
    assert entity.name in client.get("/home/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_policy_library_lists_the_rules_with_issuer_date_and_link(client, db):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    block = re.search(r'data-testid="policies">(.*?)</table>', html, re.S).group(1)
    assert "碳排放权交易管理暂行条例" in block and "国务院" in block and "2024-01-25" in block
    assert 'href="https://www.gov.cn/zhengce/content/202402/content_6930137.htm"' in block


def test_search_finds_listed_entities_projects_policies_and_products(client, listed, entity, market):
    html = client.get("/search/", {"q": "武汉示范"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert entity.name in re.search(r'data-testid="search-entities">(.*?)</div></div></div>', html, re.S).group(1)
    policy = client.get("/search/", {"q": "暂行条例"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "碳排放权交易管理暂行条例" in policy
    assert "/trading/public/CEA23/" in client.get("/search/", {"q": "cea23"}).content.decode()


def test_search_shows_only_what_is_public(client, listed, other_entity):
    """An entity on no sector list is not disclosed: taken off the 2025 list, the search no longer finds it."""
    found = client.get("/search/", {"q": other_entity.name}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert other_entity.name in found.split('data-testid="search-results"')[1]
    SectorListing.objects.filter(entity=other_entity).delete()
    html = client.get("/search/", {"q": other_entity.name}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert other_entity.name not in html.split('data-testid="search-results"')[1]


def test_without_a_published_list_the_register_is_shown(client, entity, other_entity):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = re.search(r'data-testid="key-entities">(.*?)data-testid="allocation-results"', html, re.S).group(1)
    assert re.search(r"<td>Current register</td>.*?<strong>2</strong>", block, re.S)
    assert "Hubei 1" in block and "Guangdong 1" in block
