"""Trading API: public market data; a participant's orders, trades, cash and statement; bank notices."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cets.common.api import idempotent, validated
from cets.common.errors import Forbidden, NotFound
from cets.common.export import export_response

from .. import selectors, services
from ..models import Alert, Auction, AuctionBid, BulkProposal, Order, TradingAccount
from ..services.orders import OrderRequest
from . import serializers as s


def _account_by_number(number: str, field: str) -> TradingAccount:
    account = TradingAccount.objects.select_related("participant", "registry_account").filter(number=number).first()
    if account is None:
        raise NotFound("No trading account with this number.", "unknown_account", field)
    return account


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """Products by vintage with their trading rules, depth, daily bars and last trades (public)."""

    permission_classes = [AllowAny]
    serializer_class = s.ProductOutput
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self):
        return selectors.products_public()

    @extend_schema(responses=s.DepthOutput)
    @action(detail=True)
    def depth(self, request, code=None):
        return Response(s.DepthOutput(selectors.depth(selectors.product_get(code))).data)

    @extend_schema(responses=s.ListingOutput(many=True))
    @action(detail=True)
    def listings(self, request, code=None):
        side = request.query_params.get("side", "SELL").upper()
        if side not in ("BUY", "SELL"):
            raise NotFound("side must be BUY or SELL", "invalid_side", "side")
        return Response(s.ListingOutput(selectors.listings(selectors.product_get(code), side), many=True).data)

    @extend_schema(responses=s.BarOutput(many=True))
    @action(detail=True)
    def bars(self, request, code=None):
        return Response(s.BarOutput(selectors.bars(selectors.product_get(code)), many=True).data)

    @extend_schema(responses=s.PublicTradeOutput(many=True))
    @action(detail=True)
    def trades(self, request, code=None):
        return Response(s.PublicTradeOutput(selectors.last_trades(selectors.product_get(code)), many=True).data)


class OrderViewSet(viewsets.GenericViewSet):
    """A participant's listed orders: place (match and settle at once), take a listing, cancel, amend."""

    serializer_class = s.OrderOutput
    filterset_fields = ["status", "side"]

    def get_queryset(self):
        return selectors.orders_for(self.request.user).order_by("-id")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.OrderOutput(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(s.OrderOutput(self._get(pk)).data)

    def _get(self, pk) -> Order:
        order = self.get_queryset().filter(pk=pk).first()
        if order is None:
            raise NotFound("No such order.", field="order")
        return order

    @extend_schema(request=s.OrderInput, responses={201: s.PlaceOutput})
    @idempotent
    def create(self, request):
        data = validated(s.OrderInput, request)
        v = data
        order, trades = services.order_place(
            user=request.user, account=selectors.my_account(request.user), product=selectors.product_get(v["product"]),
            side=v["side"].upper(), price=v["price"], quantity=v["quantity"])
        return Response(s.PlaceOutput({"order": order, "trades": trades}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.BatchInput, responses={201: s.PlaceOutput(many=True)})
    @action(detail=False, methods=["post"])
    @idempotent
    def batch(self, request):
        """Place a list of orders in one transaction (``services.orders_place_batch``): one result per order,
        in order, each with its order and trades or the error that refused it (the others still go on)."""
        data = validated(s.BatchInput, request)
        v = data
        account = selectors.my_account(request.user)
        results = services.orders_place_batch(product=selectors.product_get(v["product"]), requests=[
            OrderRequest(user=request.user, account=account, side=o["side"].upper(), price=o["price"],
                         quantity=o["quantity"]) for o in v["orders"]])
        return Response([r.error.as_dict() if r.error else
                         s.PlaceOutput({"order": r.order, "trades": r.trades}).data for r in results],
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TakeInput, responses={201: s.PlaceOutput})
    @action(detail=False, methods=["post"])
    @idempotent
    def take(self, request):
        data = validated(s.TakeInput, request)
        listing = Order.objects.filter(pk=data["listing"]).select_related("product").first()
        if listing is None:
            raise NotFound("No such listing.", field="listing")
        order, trade = services.order_take(user=request.user, account=selectors.my_account(request.user),
                                           listing=listing, quantity=data["quantity"])
        return Response(s.PlaceOutput({"order": order, "trades": [trade]}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.OrderOutput)
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request, pk=None):
        return Response(s.OrderOutput(services.order_cancel(user=request.user, order=self._get(pk))).data)

    @extend_schema(request=s.AmendInput, responses=s.PlaceOutput)
    @action(detail=True, methods=["post"])
    @idempotent
    def amend(self, request, pk=None):
        data = validated(s.AmendInput, request)
        order, trades = services.order_amend(user=request.user, order=self._get(pk), **data)
        return Response(s.PlaceOutput({"order": order, "trades": trades}).data)


class TradeViewSet(viewsets.ReadOnlyModelViewSet):
    """The participant's own trades (exchange staff and the national regulator: all)."""

    serializer_class = s.TradeOutput
    filterset_fields = ["method", "trade_date"]

    def get_queryset(self):
        return selectors.trades_for(self.request.user).order_by("-id")


class CashView(APIView):
    """The participant's cash balances (available and frozen)."""

    @extend_schema(responses=s.CashOutput)
    def get(self, request):
        return Response(s.CashOutput(selectors.my_account(request.user).cash).data)


class StatementView(APIView):
    """The participant's cash statement; ``?export=csv`` or ``?export=xlsx`` downloads it."""

    @extend_schema(responses=s.PostingOutput(many=True))
    def get(self, request):
        account = selectors.my_account(request.user)
        postings = selectors.statement(account)
        fmt = request.query_params.get("export")
        if fmt in ("csv", "xlsx"):
            rows = ([p.journal.created_at, p.journal.get_kind_display(), p.get_bucket_display(), p.amount,
                     p.journal.memo] for p in postings)
            return export_response(f"statement-{account.number}", ["time", "kind", "bucket", "amount", "memo"],
                                   rows, fmt)
        return Response(s.PostingOutput(postings, many=True).data)


class CashMovementView(APIView):
    """Bank notices recorded by the exchange's settlement staff (or the bank's API user)."""

    kind = "deposit"

    @extend_schema(request=s.CashMovementInput, responses={201: None})
    @idempotent
    def post(self, request):
        data = validated(s.CashMovementInput, request)
        v = data
        if request.user.role != request.user.Role.EXCHANGE_STAFF:
            raise Forbidden("Only the exchange's settlement staff record deposits and withdrawals.")
        service = services.cash_deposit if self.kind == "deposit" else services.cash_withdraw
        journal = service(actor=request.user, account=_account_by_number(v["account"], "account"),
                          amount=v["amount"], bank_reference=v["bank_reference"])
        return Response({"journal": journal.pk, "kind": journal.kind}, status=status.HTTP_201_CREATED)


class BulkViewSet(viewsets.GenericViewSet):
    """Bulk agreements: propose to a named counterparty; the counterparty confirms or rejects."""

    serializer_class = s.BulkOutput

    def get_queryset(self):
        return selectors.proposals_for(self.request.user).order_by("-id")

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.BulkOutput(page, many=True).data)

    def _get(self, pk) -> BulkProposal:
        proposal = self.get_queryset().filter(pk=pk).first()
        if proposal is None:
            raise NotFound("No such proposal.", field="proposal")
        return proposal

    @extend_schema(request=s.BulkInput, responses={201: s.BulkOutput})
    @idempotent
    def create(self, request):
        data = validated(s.BulkInput, request)
        v = data
        proposal = services.bulk_propose(
            user=request.user, account=selectors.my_account(request.user),
            counterparty=_account_by_number(v["counterparty"], "counterparty"),
            product=selectors.product_get(v["product"]), side=v["side"].upper(), price=v["price"],
            quantity=v["quantity"])
        return Response(s.BulkOutput(proposal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.BulkOutput)
    @action(detail=True, methods=["post"])
    @idempotent
    def confirm(self, request, pk=None):
        return Response(s.BulkOutput(services.bulk_confirm(user=request.user, proposal=self._get(pk))).data)

    @extend_schema(request=None, responses=s.BulkOutput)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return Response(s.BulkOutput(services.bulk_reject(user=request.user, proposal=self._get(pk))).data)

    @extend_schema(request=None, responses=s.BulkOutput)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return Response(s.BulkOutput(services.bulk_withdraw(user=request.user, proposal=self._get(pk))).data)


class AuctionViewSet(viewsets.GenericViewSet):
    """Single-direction bidding: announced publicly; bids by participants with frozen funds."""

    serializer_class = s.AuctionOutput

    def get_permissions(self):
        return [AllowAny()] if self.action in ("list", "retrieve") else super().get_permissions()

    def get_queryset(self):
        return selectors.auctions_visible().order_by("-id")

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.AuctionOutput(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(s.AuctionOutput(self._get(pk)).data)

    def _get(self, pk) -> Auction:
        auction = self.get_queryset().filter(pk=pk).first()
        if auction is None:
            raise NotFound("No such auction.", field="auction")
        return auction

    @extend_schema(request=s.AuctionInput, responses={201: s.AuctionOutput})
    @idempotent
    def create(self, request):
        data = validated(s.AuctionInput, request)
        v = data
        auction = services.auction_create(
            user=request.user, seller=_account_by_number(v["seller"], "seller"),
            product=selectors.product_get(v["product"]), quantity=v["quantity"], reserve_price=v["reserve_price"],
            pricing=v["pricing"], opens_at=v["opens_at"], closes_at=v["closes_at"])
        return Response(s.AuctionOutput(auction).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.BidInput, responses={201: s.BidOutput})
    @action(detail=True, methods=["post"])
    @idempotent
    def bid(self, request, pk=None):
        data = validated(s.BidInput, request)
        bid = services.auction_bid(user=request.user, account=selectors.my_account(request.user),
                                   auction=self._get(pk), **data)
        return Response(s.BidOutput(bid).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.BidOutput(many=True))
    @action(detail=True)
    def my_bids(self, request, pk=None):
        account = selectors.my_account(request.user)
        bids = AuctionBid.objects.filter(auction=self._get(pk), account=account)
        return Response(s.BidOutput(bids, many=True).data)


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Surveillance alerts with their evidence (national regulator and exchange staff)."""

    serializer_class = s.AlertOutput
    queryset = Alert.objects.none()  # for the schema; rows come from get_queryset
    filterset_fields = ["kind", "status", "trade_date"]

    def get_queryset(self):
        if self.request.user.role not in ("exchange_staff", "national_regulator"):
            raise Forbidden("Only the national regulator and exchange staff see surveillance alerts.")
        return selectors.alerts_visible_to(self.request.user)


class LargeHoldersView(APIView):
    """Participants at or above the large-holder threshold of a product (regulators and exchange staff)."""

    @extend_schema(responses=s.LargeHolderOutput(many=True))
    def get(self, request, code):
        if request.user.role not in ("exchange_staff", "national_regulator"):
            raise Forbidden("Only the national regulator and exchange staff see the large-holder report.")
        return Response(selectors.large_holders(selectors.product_get(code)))
