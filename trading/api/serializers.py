"""Thin input/output shapes: rules are checked by the services, so inputs stay loose (one error per rule)."""

from rest_framework import serializers

from ..models import Alert, Auction, AuctionBid, BulkProposal, CashAccount, CashPosting, DailyBar, Order, Product, Trade


class ProductOutput(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["code", "name", "vintage", "tick", "lot", "bulk_min_quantity", "listed_band_pct", "bulk_band_pct",
                  "listed_sessions", "bulk_sessions", "fee_rate", "previous_close", "closing_method"]


class LevelOutput(serializers.Serializer):
    price = serializers.DecimalField(max_digits=18, decimal_places=2)
    quantity = serializers.IntegerField()
    orders = serializers.IntegerField()


class DepthOutput(serializers.Serializer):
    bids = LevelOutput(many=True)
    asks = LevelOutput(many=True)


class BarOutput(serializers.ModelSerializer):
    volume = serializers.IntegerField(read_only=True)
    value = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = DailyBar
        fields = ["date", "open", "high", "low", "close", "previous_close", "volume", "value", "listed_volume",
                  "listed_value", "bulk_volume", "bulk_value", "auction_volume", "auction_value"]


class PublicTradeOutput(serializers.ModelSerializer):
    class Meta:
        model = Trade
        fields = ["executed_at", "method", "price", "quantity"]


class OrderInput(serializers.Serializer):
    product = serializers.CharField()
    side = serializers.CharField()
    price = serializers.CharField()
    quantity = serializers.CharField()


class BatchOrderInput(serializers.Serializer):
    side = serializers.CharField()
    price = serializers.CharField()
    quantity = serializers.CharField()


class BatchInput(serializers.Serializer):
    """Up to 500 limit orders of one product, placed in this order in one transaction."""

    product = serializers.CharField()
    orders = BatchOrderInput(many=True, allow_empty=False, max_length=500)


class AmendInput(serializers.Serializer):
    price = serializers.CharField()
    quantity = serializers.CharField()


class TakeInput(serializers.Serializer):
    listing = serializers.IntegerField()
    quantity = serializers.CharField()


class OrderOutput(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")
    account = serializers.CharField(source="account.number")

    class Meta:
        model = Order
        fields = ["id", "product", "account", "side", "price", "quantity", "open_quantity", "filled_quantity",
                  "status", "frozen_amount", "created_at"]


class ListingOutput(serializers.ModelSerializer):
    """A public listing: no owner is disclosed."""

    class Meta:
        model = Order
        fields = ["id", "side", "price", "open_quantity", "created_at"]


class TradeOutput(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")
    buyer = serializers.CharField(source="buyer.number")
    seller = serializers.CharField(source="seller.number")

    class Meta:
        model = Trade
        fields = ["id", "product", "method", "buyer", "seller", "buy_order", "sell_order", "price", "quantity",
                  "value", "buyer_fee", "seller_fee", "trade_date", "executed_at", "registry_transaction"]


class PlaceOutput(serializers.Serializer):
    order = OrderOutput()
    trades = TradeOutput(many=True)


class CashOutput(serializers.ModelSerializer):
    account = serializers.CharField(source="account.number")

    class Meta:
        model = CashAccount
        fields = ["account", "available", "frozen"]


class CashMovementInput(serializers.Serializer):
    account = serializers.CharField(help_text="Trading account number")
    amount = serializers.CharField()
    bank_reference = serializers.CharField()


class PostingOutput(serializers.ModelSerializer):
    time = serializers.DateTimeField(source="journal.created_at")
    kind = serializers.CharField(source="journal.kind")
    memo = serializers.CharField(source="journal.memo")

    class Meta:
        model = CashPosting
        fields = ["time", "kind", "bucket", "amount", "memo"]


class BulkInput(serializers.Serializer):
    product = serializers.CharField()
    counterparty = serializers.CharField(help_text="Counterparty's trading account number")
    side = serializers.CharField()
    price = serializers.CharField()
    quantity = serializers.CharField()


class BulkOutput(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")
    initiator = serializers.CharField(source="initiator.number")
    counterparty = serializers.CharField(source="counterparty.number")

    class Meta:
        model = BulkProposal
        fields = ["id", "product", "initiator", "counterparty", "side", "price", "quantity", "status", "expires_at",
                  "created_at", "decided_at", "trade"]


class AuctionInput(serializers.Serializer):
    product = serializers.CharField()
    seller = serializers.CharField(help_text="Seller's trading account number")
    quantity = serializers.CharField()
    reserve_price = serializers.CharField()
    pricing = serializers.CharField()
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()


class AuctionOutput(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")

    class Meta:
        model = Auction
        fields = ["id", "product", "quantity", "reserve_price", "pricing", "opens_at", "closes_at", "status",
                  "sold_quantity", "clearing_price"]


class BidInput(serializers.Serializer):
    price = serializers.CharField()
    quantity = serializers.CharField()


class BidOutput(serializers.ModelSerializer):
    class Meta:
        model = AuctionBid
        fields = ["id", "auction", "price", "quantity", "allocated_quantity", "frozen_amount", "status", "created_at"]


class AlertOutput(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")
    account = serializers.CharField(source="account.number")
    participant = serializers.CharField(source="account.participant.name")

    class Meta:
        model = Alert
        fields = ["id", "kind", "product", "account", "participant", "trade_date", "status", "summary", "evidence",
                  "created_at"]


class LargeHolderOutput(serializers.Serializer):
    """One row of the large-holder report."""

    account = serializers.CharField()
    participant = serializers.CharField()
    kind = serializers.CharField()
    holding = serializers.IntegerField()
    threshold = serializers.IntegerField()
    position_limit = serializers.IntegerField(allow_null=True)
