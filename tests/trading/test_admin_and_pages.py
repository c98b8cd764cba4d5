"""Regulators' admin (surveillance queue, rules as data), auctions over the API, the public chart."""

from decimal import Decimal

import pytest
from django.test import Client

from trading.models import Alert, Auction, DailyBar, Product
from trading.services import order_place, session_close

from .conftest import DAY, at

pytestmark = pytest.mark.django_db
API = "/api/v1/trading"


@pytest.fixture
def alert(seller, seller_account, product):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="87.00", quantity=10)
    return Alert.objects.get()


def test_national_regulator_reviews_alerts_in_admin(national, alert, admin_login):
    client = admin_login(Client(), national)
    page = client.get("/admin/trading/alert/")
    assert page.status_code == 200 and alert.summary.encode() in page.content
    detail = client.get(f"/admin/trading/alert/{alert.pk}/change/")
    assert b"reference_price" in detail.content
    client.post("/admin/trading/alert/", {"action": "escalate", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "escalated" and alert.reviewed_by == national


def test_provincial_regulator_cannot_review_alerts(hubei, alert, admin_login):
    client = admin_login(Client(), hubei)
    client.post("/admin/trading/alert/", {"action": "dismiss", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "open"


def test_only_the_national_regulator_edits_product_rules(national, hubei, product, admin_login):
    assert admin_login(Client(), hubei).get(f"/admin/trading/product/{product.pk}/change/").status_code == 200
    response = admin_login(Client(), hubei).post(f"/admin/trading/product/{product.pk}/change/", {})
    assert response.status_code == 403
    page = admin_login(Client(), national).get(f"/admin/trading/product/{product.pk}/change/")
    assert b'name="listed_band_pct"' in page.content


def test_auction_over_api(seller, seller_account, buyer, buyer_account, product, api):
    body = {"product": "CEA23", "seller": seller_account.number, "quantity": "1000", "reserve_price": "80.00",
            "pricing": "uniform", "opens_at": at(9, 30).isoformat(), "closes_at": at(11).isoformat()}
    assert api(buyer).post(f"{API}/auctions/", body, format="json").status_code == 403
    created = api(seller).post(f"{API}/auctions/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert api().get(f"{API}/auctions/{pk}/").json()["reserve_price"] == "80.00"
    bid = api(buyer).post(f"{API}/auctions/{pk}/bid/", {"price": "81.00", "quantity": "500"}, format="json")
    assert bid.status_code == 201 and bid.json()["frozen_amount"] == "40520.25"
    own = api(seller).post(f"{API}/auctions/{pk}/bid/", {"price": "81.00", "quantity": "5"}, format="json")
    assert own.status_code == 400 and own.json()["error"]["code"] == "self_trade"
    assert Auction.objects.get().bids.count() == 1


def test_amend_over_api(seller, seller_account, product, api):
    order, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00",
                           quantity=100)
    response = api(seller).post(f"{API}/orders/{order.pk}/amend/", {"price": "81.00", "quantity": "40"},
                                format="json")
    assert response.status_code == 200
    assert (response.json()["order"]["price"], response.json()["order"]["open_quantity"]) == ("81.00", 40)


def test_public_page_draws_the_chart_of_closes(seller, seller_account, buyer, buyer_account, product, clock):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=10)
    order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00", quantity=10)
    session_close(day=DAY, now=at(15))
    DailyBar.objects.create(product=product, date=DAY.replace(day=23), close=Decimal("78.00"),
                            previous_close=Decimal("79.42"))
    page = Client().get("/trading/public/CEA23/")
    assert b"<polyline" in page.content and b"80.00" in page.content
    assert Product.objects.get(pk=product.pk).previous_close == Decimal("80.00")
