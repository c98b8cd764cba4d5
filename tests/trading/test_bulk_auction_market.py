"""Bulk agreements, single-direction bidding, session close (bars, closing price), surveillance, cash."""

import datetime as dt
from decimal import Decimal

import pytest

from cets.common.errors import DomainError
from cets.common.models import Job
from entities.models import Organisation
from registry import services as registry
from tests import factories as f
from trading.models import Alert, Auction, BulkProposal, DailyBar, Order, Participant, Product
from trading.selectors import cash_check, large_holders
from trading.services import (
    auction_bid,
    auction_close,
    auction_create,
    bulk_confirm,
    bulk_expire,
    bulk_propose,
    bulk_reject,
    cash_deposit,
    cash_withdraw,
    order_place,
    participant_open,
    session_close,
)

from .conftest import DAY, at, cash, give_cash, units

pytestmark = pytest.mark.django_db


@pytest.fixture
def afternoon(clock):
    clock.set(at(13, 30))
    return clock


def test_bulk_confirmed_settles_at_once(seller, seller_account, buyer, buyer_account, product, afternoon):
    proposal = bulk_propose(user=seller, account=seller_account, counterparty=buyer_account, product=product,
                            side="SELL", price="95.00", quantity=150_000)  # bulk band +-30%: up to 103.24
    assert units(seller_account, product) == (200_000, 50_000)
    assert proposal.expires_at == at(15)
    proposal = bulk_confirm(user=buyer, proposal=proposal)
    assert proposal.status == "confirmed"
    assert (proposal.trade.quantity, proposal.trade.value) == (150_000, Decimal("14250000.00"))
    assert units(buyer_account, product) == (150_000, 150_000)
    assert cash(buyer_account) == (Decimal("20000000.00") - Decimal("14257125.00"), Decimal("0.00"))
    assert cash_check() == []


def test_only_the_named_counterparty_confirms(seller, seller_account, buyer_account, product, afternoon,
                                             entity_user):
    proposal = bulk_propose(user=seller, account=seller_account, counterparty=buyer_account, product=product,
                            side="SELL", price="95.00", quantity=100_000)
    with pytest.raises(DomainError) as exc:
        bulk_confirm(user=entity_user, proposal=proposal)
    assert exc.value.status_code == 403
    assert BulkProposal.objects.get().status == "proposed"


def test_rejected_and_expired_proposals_release_what_they_froze(seller, seller_account, buyer, buyer_account,
                                                                product, afternoon):
    p1 = bulk_propose(user=buyer, account=buyer_account, counterparty=seller_account, product=product, side="BUY",
                      price="80.00", quantity=100_000)
    assert cash(buyer_account)[1] == Decimal("8004000.00")
    bulk_reject(user=seller, proposal=p1)
    assert cash(buyer_account) == (Decimal("20000000.00"), Decimal("0.00"))
    bulk_propose(user=seller, account=seller_account, counterparty=buyer_account, product=product, side="SELL",
                 price="80.00", quantity=100_000)
    assert bulk_expire(now=at(14, 59)) == 0
    assert bulk_expire(now=at(15, 0)) == 1
    assert units(seller_account, product) == (200_000, 200_000)
    proposal = BulkProposal.objects.get(status="expired")
    with pytest.raises(DomainError) as exc:
        bulk_confirm(user=buyer, proposal=proposal, now=at(14, 0))
    assert exc.value.code == "proposal_decided"


@pytest.mark.parametrize("pricing, prices", [("pay_as_bid", [Decimal("90.00"), Decimal("85.00")]),
                                             ("uniform", [Decimal("85.00"), Decimal("85.00")])])
def test_auction_allocates_by_price_then_time(seller, seller_account, buyer, buyer_account, product, staff,
                                              other_entity, pricing, prices):
    trader_org = f.OrganisationFactory(kind=Organisation.Kind.TRADING_PARTICIPANT)
    third = participant_open(actor=None, organisation=trader_org,
                             registry_account=registry.account_for_organisation(organisation=trader_org))
    give_cash(staff, third, "5000000.00", "BANK-T-1")
    third_user = f.UserFactory(role="participant", organisation=trader_org, username="trader")
    auction = auction_create(user=seller, seller=seller_account, product=product, quantity=10_000,
                             reserve_price="80.00", pricing=pricing, opens_at=at(9, 30), closes_at=at(11, 0))
    auction_bid(user=buyer, account=buyer_account, auction=auction, price="90.00", quantity=6_000)
    auction_bid(user=third_user, account=third, auction=auction, price="85.00", quantity=6_000)
    auction_bid(user=buyer, account=buyer_account, auction=auction, price="82.00", quantity=3_000)
    with pytest.raises(DomainError):
        auction_bid(user=buyer, account=buyer_account, auction=auction, price="79.99", quantity=10)
    with pytest.raises(DomainError):
        auction_close(auction=auction, now=at(10, 59))
    auction = auction_close(auction=auction, now=at(11, 0))
    assert (auction.status, auction.sold_quantity, auction.clearing_price) == ("closed", 10_000, Decimal("85.00"))
    bids = list(auction.bids.order_by("-price"))
    assert [(b.allocated_quantity, b.status) for b in bids] == [(6_000, "won"), (4_000, "partial"), (0, "lost")]
    assert [b.trade.price for b in bids[:2]] == prices
    assert units(third, product) == (4_000, 4_000)
    assert cash(buyer_account)[1] == Decimal("0.00") and cash(third)[1] == Decimal("0.00")
    assert units(seller_account, product) == (190_000, 190_000)
    assert cash_check() == []


def test_session_close_vwap_bar_and_next_band(seller, seller_account, buyer, buyer_account, product, clock):
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=100)
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="82.00", quantity=300)
    order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="82.00", quantity=400)
    resting, _ = order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="75.00",
                             quantity=50)
    result = session_close(day=DAY, now=at(15))
    bar = DailyBar.objects.get(product=product, date=DAY)
    # VWAP = (100 x 80 + 300 x 82) / 400 = 81.50
    assert (bar.open, bar.high, bar.low, bar.close) == (Decimal("80.00"), Decimal("82.00"), Decimal("80.00"),
                                                        Decimal("81.50"))
    assert (bar.listed_volume, bar.listed_value, bar.previous_close) == (400, Decimal("32600.00"), Decimal("79.42"))
    assert Product.objects.get(pk=product.pk).previous_close == Decimal("81.50")
    assert result["products"]["CEA23"]["orders_withdrawn"] == 1
    assert Order.objects.get(pk=resting.pk).status == "cancelled"
    # Rerunning is idempotent, and a product without trades keeps its previous close.
    session_close(day=DAY, now=at(15))
    assert DailyBar.objects.get(product=product, date=DAY).close == Decimal("81.50")
    assert DailyBar.objects.get(product__code="CEA22", date=DAY).close == Decimal("79.42")
    assert cash_check() == []


def test_surveillance_wash_far_from_market_and_close_concentration(seller, seller_account, buyer, buyer_account,
                                                                   product, clock):
    Participant.objects.filter(pk__in=[seller_account.participant_id, buyer_account.participant_id]).update(
        related_group="华能集团")
    far, _ = order_place(user=seller, account=seller_account, product=product, side="SELL", price="87.00",
                         quantity=10)
    alert = Alert.objects.get(kind="far_from_market")
    assert alert.evidence["order"] == far.pk and alert.evidence["reference_price"] == "79.42"
    clock.set(at(14, 55))
    order_place(user=seller, account=seller_account, product=product, side="SELL", price="80.00", quantity=100)
    order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00", quantity=100)
    session_close(day=DAY, now=at(15))
    kinds = sorted(Alert.objects.values_list("kind", flat=True))
    assert kinds == ["close_concentration", "close_concentration", "far_from_market", "wash_trade", "wash_trade"]
    session_close(day=DAY, now=at(15))
    assert Alert.objects.count() == 5


def test_large_holders_report(seller_account, buyer_account, product):
    product.participant_rules.filter(participant_kind="entity").update(large_holder_threshold=150_000)
    rows = large_holders(product)
    assert [(r["account"], r["holding"]) for r in rows] == [(seller_account.number, 200_000)]


def test_position_limit_refuses_purchase(buyer, buyer_account, product):
    product.participant_rules.filter(participant_kind="entity").update(position_limit=1_000)
    order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00", quantity=800)
    with pytest.raises(DomainError) as exc:
        order_place(user=buyer, account=buyer_account, product=product, side="BUY", price="80.00", quantity=201)
    assert exc.value.code == "position_limit"
    assert Order.objects.count() == 1


def test_deposits_and_withdrawals_by_staff_only(staff, buyer, buyer_account):
    with pytest.raises(DomainError) as exc:
        cash_deposit(actor=buyer, account=buyer_account, amount="100.00", bank_reference="X-1")
    assert exc.value.status_code == 403
    with pytest.raises(DomainError) as exc:
        cash_deposit(actor=staff, account=buyer_account, amount="100.00", bank_reference="BANK-B-1")
    assert exc.value.code == "duplicate_bank_reference"
    with pytest.raises(DomainError) as exc:
        cash_withdraw(actor=staff, account=buyer_account, amount="20000000.01", bank_reference="W-1")
    assert exc.value.code == "insufficient_funds"
    cash_withdraw(actor=staff, account=buyer_account, amount="0.50", bank_reference="W-2")
    assert cash(buyer_account)[0] == Decimal("19999999.50")
    assert cash_check() == []


def test_auction_window_is_checked(seller, seller_account, product):
    with pytest.raises(DomainError) as exc:
        auction_create(user=seller, seller=seller_account, product=product, quantity=100, reserve_price="80.00",
                       pricing="sealed", opens_at=at(9), closes_at=at(11))
    assert exc.value.field == "pricing"
    with pytest.raises(DomainError) as exc:
        auction_create(user=seller, seller=seller_account, product=product, quantity=100, reserve_price="80.00",
                       pricing="uniform", opens_at=at(11), closes_at=at(11) - dt.timedelta(minutes=1))
    assert exc.value.field == "closes_at"
    assert Auction.objects.count() == 0


def test_session_close_task_skips_holidays_and_closes_trading_days(seller, seller_account, product,
                                                                   django_capture_on_commit_callbacks):
    from trading.tasks import auctions_close_task, session_close_task

    assert session_close_task.delay("2024-05-01").get() == {"day": "2024-05-01", "skipped": "not a trading day"}
    with django_capture_on_commit_callbacks(execute=True):
        result = session_close_task.delay(DAY.isoformat()).get()
    job = Job.objects.get(pk=result["job"])
    assert (job.status, job.done, job.total) == ("succeeded", 6, 6)
    assert job.result["products"]["CEA23"]["close"] == "79.42"
    assert auctions_close_task.delay().get() == []
