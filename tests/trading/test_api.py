"""The trading API: public market data, placement with idempotency, refusals for other roles."""

from decimal import Decimal

import pytest
from django.test import Client

from trading.models import Order, Trade
from trading.services import order_place, session_close

from .conftest import DAY, at, cash

pytestmark = pytest.mark.django_db
API = "/api/v1/trading"


def test_public_products_depth_and_bars_without_login(seller, seller_account, product, api):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=100)
    session_close(day=DAY, now=at(15))
    anon = api()
    products = anon.get(f"{API}/products/").json()
    assert [p["code"] for p in products] == ["CEA19-20", "CEA21", "CEA22", "CEA23", "CEA24"]
    assert anon.get(f"{API}/products/CEA23/depth/").json() == {"bids": [], "asks": []}  # withdrawn at the close
    bars = anon.get(f"{API}/products/CEA23/bars/").json()
    assert bars[0]["close"] == "79.42" and bars[0]["volume"] == 0


def test_place_order_over_api_matches_and_replays_with_idempotency_key(
        seller, seller_account, buyer, buyer_account, product, api):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=100)
    client = api(buyer)
    body = {"product": "CEA23", "side": "BUY", "price": "80.00", "quantity": 60}
    first = client.post(f"{API}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.content
    assert first.json()["trades"][0]["quantity"] == 60 and first.json()["order"]["status"] == "filled"
    again = client.post(f"{API}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Trade.objects.count() == 1
    assert client.get(f"{API}/cash/").json()["available"] == str(Decimal("20000000.00") - Decimal("4802.40"))
    assert len(client.get(f"{API}/trades/").json()["results"]) == 1
    statement = client.get(f"{API}/cash/statement/?export=csv")
    assert statement.status_code == 200 and b"settlement" in statement.content.lower()


def test_bad_input_over_api_names_field_and_rule(buyer, buyer_account, product, api):
    response = api(buyer).post(f"{API}/orders/", {"product": "CEA23", "side": "BUY", "price": "80.005",
                                                  "quantity": 10}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "off_tick" and response.json()["error"]["field"] == "price"
    assert Order.objects.count() == 0


def test_other_participant_cannot_see_or_cancel_an_order(seller, seller_account, buyer, buyer_account, product,
                                                         api):
    order, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00",
                           quantity=100)
    client = api(buyer)
    assert client.get(f"{API}/orders/{order.pk}/").status_code == 404
    assert client.post(f"{API}/orders/{order.pk}/cancel/").status_code == 404
    assert client.get(f"{API}/orders/").json()["results"] == []
    order.refresh_from_db()
    assert order.status == "open"


def test_taking_own_listing_over_api_is_refused(seller, seller_account, product, api):
    order, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00",
                           quantity=100)
    response = api(seller).post(f"{API}/orders/take/", {"listing": order.pk, "quantity": 10}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "self_trade"


def test_users_without_a_trading_account_are_refused(verifier, hubei, product, api):
    for user in (verifier, hubei):
        response = api(user).post(f"{API}/orders/", {"product": "CEA23", "side": "BUY", "price": "80.00",
                                                     "quantity": 10}, format="json")
        assert response.status_code == 404
        assert api(user).get(f"{API}/cash/").status_code == 404


def test_deposits_only_by_exchange_staff(staff, buyer, buyer_account, api):
    body = {"account": buyer_account.number, "amount": "1000.00", "bank_reference": "NOTICE-9"}
    assert api(buyer).post(f"{API}/cash/deposits/", body, format="json").status_code == 403
    assert cash(buyer_account)[0] == Decimal("20000000.00")
    assert api(staff).post(f"{API}/cash/deposits/", body, format="json").status_code == 201
    assert cash(buyer_account)[0] == Decimal("20001000.00")
    assert api(staff).post(f"{API}/cash/deposits/", body, format="json").status_code == 400


def test_alerts_and_large_holders_only_for_national_regulator_and_staff(national, hubei, entity_user, staff,
                                                                        seller_account, product, api):
    for user in (hubei, entity_user):
        assert api(user).get(f"{API}/alerts/").status_code == 403
        assert api(user).get(f"{API}/products/CEA23/large-holders/").status_code == 403
    assert api(national).get(f"{API}/alerts/").status_code == 200
    rows = api(staff).get(f"{API}/products/CEA23/large-holders/").json()
    assert rows == []


def test_bulk_over_api(seller, seller_account, buyer, buyer_account, product, api, clock):
    clock.set(at(13, 30))
    response = api(seller).post(f"{API}/bulk-proposals/", {
        "product": "CEA23", "counterparty": buyer_account.number, "side": "SELL", "price": "80.00",
        "quantity": 100_000}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert api(seller).post(f"{API}/bulk-proposals/{pk}/confirm/").status_code == 403
    confirmed = api(buyer).post(f"{API}/bulk-proposals/{pk}/confirm/")
    assert confirmed.json()["status"] == "confirmed"


def test_portal_pages(seller, seller_account, buyer, product):
    anon = Client()
    assert anon.get("/trading/public/").status_code == 200
    page = anon.get("/trading/public/CEA23/")
    assert page.status_code == 200 and b"79.42" in page.content
    assert anon.get("/trading/").status_code == 302
    client = Client()
    client.force_login(seller)
    desk = client.get("/trading/")
    assert desk.status_code == 200 and seller_account.number.encode() in desk.content
    client.post("/trading/orders/place/", {"product": "CEA23", "side": "SELL", "price": "80.00", "quantity": "10"})
    assert Order.objects.filter(account=seller_account).count() == 1
    assert client.get("/trading/export/orders/?export=xlsx").status_code == 200
    other = Client()
    other.force_login(buyer)  # the buyer has no trading account in this test
    no_account = other.get("/trading/")  # told there is no account, and shown nothing of the seller's
    assert b'data-testid="no-trading-account"' in no_account.content
    assert seller_account.number.encode() not in no_account.content
    order = Order.objects.get()
    assert other.post(f"/trading/orders/{order.pk}/cancel/").status_code == 404


def test_depth_query_count_is_pinned(seller, seller_account, product, api, django_assert_max_num_queries):
    for price in ("80.00", "80.10", "80.20", "80.30", "80.40", "80.50", "80.60"):
        order_place(user=seller, account=seller_account, product=product, side="SELL", price=price, quantity=10)
    with django_assert_max_num_queries(4):
        depth = api().get(f"{API}/products/CEA23/depth/").json()
    assert [level["price"] for level in depth["asks"]] == ["80.00", "80.10", "80.20", "80.30", "80.40"]


def test_batch_placement_over_api_returns_each_order_or_its_error(seller, seller_account, buyer, buyer_account,
                                                                   product, verifier, api):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=100)
    body = {"product": "CEA23", "orders": [{"side": "BUY", "price": "80.00", "quantity": 60},
                                           {"side": "BUY", "price": "80.005", "quantity": 10},
                                           {"side": "buy", "price": "79.00", "quantity": 10}]}
    response = api(buyer).post(f"{API}/orders/batch/", body, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    assert response.status_code == 201, response.content
    first, refused, resting = response.json()
    assert first["trades"][0]["quantity"] == 60 and first["order"]["status"] == "filled"
    assert refused["error"]["code"] == "off_tick" and refused["error"]["field"] == "price"
    assert resting["order"]["status"] == "open" and resting["trades"] == []
    assert Order.objects.filter(account=buyer_account).count() == 2
    # No trading account: refused, nothing stored; an empty or malformed list names the field.
    assert api(verifier).post(f"{API}/orders/batch/", body, format="json").status_code == 404
    empty = api(buyer).post(f"{API}/orders/batch/", {"product": "CEA23", "orders": []}, format="json")
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "orders"
    assert Order.objects.count() == 3
