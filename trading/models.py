"""Tables of the trading app: products and their rules, participants, cash, orders, trades, market data.

Money is Decimal yuan (18, 2); tonnes are integers. Units themselves live in the registry: a sell
order holds a registry reservation, a trade records the registry movement that settled it.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from entities.models import KeyEntity, Organisation

MONEY = {"max_digits": 18, "decimal_places": 2}


class Method(models.TextChoices):
    LISTED = "listed", _("Listed agreement")
    BULK = "bulk", _("Bulk agreement")
    AUCTION = "auction", _("Single-direction bidding")


class Side(models.TextChoices):
    BUY = "BUY", _("Buy")
    SELL = "SELL", _("Sell")


class Product(models.Model):
    """A tradable vintage (CEA21, CEA22 ...) with every trading rule stored as data.

    Regulators correct a rule in the admin without a release (DOMAIN.md section 7). ``book_version``
    counts changes to the product's book: a process reuses its in-memory book only while it was built
    at this version (see ``trading.books``).
    """

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    vintage = models.PositiveSmallIntegerField(
        _("vintage"), help_text=_("Registry CEA vintage delivered (CEA19-20: 2020)."))
    is_active = models.BooleanField(_("active"), default=True)
    tick = models.DecimalField(_("tick (yuan)"), max_digits=8, decimal_places=2, default=Decimal("0.01"))
    lot = models.PositiveIntegerField(_("lot (t)"), default=1)
    bulk_min_quantity = models.BigIntegerField(
        _("bulk minimum (t)"), default=100_000,
        help_text=_("Listed orders must be smaller; bulk proposals at least this large."))
    listed_band_pct = models.DecimalField(_("listed band (%)"), max_digits=5, decimal_places=2, default=Decimal("10"))
    bulk_band_pct = models.DecimalField(_("bulk band (%)"), max_digits=5, decimal_places=2, default=Decimal("30"))
    listed_sessions = models.JSONField(_("listed sessions"), default=list,
                                       help_text=_('List of ["HH:MM", "HH:MM"] windows, Beijing time.'))
    bulk_sessions = models.JSONField(_("bulk sessions"), default=list)
    fee_rate = models.DecimalField(_("fee rate per side"), max_digits=8, decimal_places=6, default=Decimal("0.0005"),
                                   help_text=_("Share of trade value charged to each side, truncated to the fen."))
    previous_close = models.DecimalField(_("previous closing price"), **MONEY)
    closing_method = models.CharField(_("closing price method"), max_length=24, default="vwap_listed",
                                      choices=[("vwap_listed", _("VWAP of the day's listed trades"))])
    far_from_market_pct = models.DecimalField(
        _("alert: order far from market (%)"), max_digits=5, decimal_places=2, default=Decimal("5"))
    close_window_minutes = models.PositiveIntegerField(_("alert: near-close window (min)"), default=10)
    close_concentration_pct = models.DecimalField(
        _("alert: near-close concentration (%)"), max_digits=5, decimal_places=2, default=Decimal("50"))
    book_version = models.BigIntegerField(_("book version"), default=0, editable=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(previous_close__gt=0), name="%(app_label)s_%(class)s_close_positive"),
            models.CheckConstraint(condition=Q(lot__gte=1), name="%(app_label)s_%(class)s_lot_positive"),
        ]

    def __str__(self):
        return self.code


class Participant(models.Model):
    """Who trades: a key emitting entity or another organisation (institution)."""

    class Kind(models.TextChoices):
        ENTITY = "entity", _("Key emitting entity")
        INSTITUTION = "institution", _("Institutional participant")
        EXCHANGE = "exchange", _("Exchange / regulator reserve")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    entity = models.OneToOneField(KeyEntity, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="trading_participant", verbose_name=_("entity"))
    organisation = models.OneToOneField(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="trading_participant", verbose_name=_("organisation"))
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    related_group = models.CharField(
        _("related group"), max_length=64, blank=True,
        help_text=_("Participants under common control share a group; trades inside it raise wash alerts."))

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="entity", entity__isnull=False, organisation__isnull=True)
                           | (~Q(kind="entity") & Q(entity__isnull=True, organisation__isnull=False))),
                name="%(app_label)s_%(class)s_one_owner",
            ),
        ]

    def __str__(self):
        return self.name


class ParticipantRule(models.Model):
    """Position limit and large-holder reporting threshold of a product, per participant kind [C]."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="participant_rules")
    participant_kind = models.CharField(_("participant kind"), max_length=16, choices=Participant.Kind.choices)
    position_limit = models.BigIntegerField(_("position limit (t)"), null=True, blank=True,
                                            help_text=_("Empty: no limit."))
    large_holder_threshold = models.BigIntegerField(_("large-holder threshold (t)"))

    class Meta:
        verbose_name = _("participant rule")
        verbose_name_plural = _("participant rules")
        constraints = [
            models.UniqueConstraint(fields=["product", "participant_kind"], name="%(app_label)s_%(class)s_unique"),
        ]

    def __str__(self):
        return f"{self.product} {self.participant_kind}"


class TradingAccount(models.Model):
    """A participant's trading account, linked to its registry holding account (one per participant)."""

    participant = models.OneToOneField(Participant, on_delete=models.PROTECT, related_name="account")
    number = models.CharField(_("account number"), max_length=20, unique=True)
    registry_account = models.OneToOneField("registry.Account", on_delete=models.PROTECT,
                                            related_name="trading_account", verbose_name=_("registry holding account"))
    is_active = models.BooleanField(_("active"), default=True)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("trading account")
        verbose_name_plural = _("trading accounts")

    def __str__(self):
        return f"{self.number} {self.participant}"


class CashAccount(models.Model):
    """Cash of a trading account (available, frozen), or one of the exchange's own accounts.

    The balances are a cache of the journal (``CashPosting``); ``cash_check`` proves they agree.
    Participant balances can never go negative (database constraints): the bank clearing account is
    the one account whose balance is negative, mirroring money held for participants.
    """

    class Kind(models.TextChoices):
        PARTICIPANT = "participant", _("Participant")
        BANK = "bank", _("Bank clearing")
        FEES = "fees", _("Fee income")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PARTICIPANT)
    account = models.OneToOneField(TradingAccount, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="cash")
    available = models.DecimalField(_("available"), **MONEY, default=Decimal("0"))
    frozen = models.DecimalField(_("frozen"), **MONEY, default=Decimal("0"))

    class Meta:
        verbose_name = _("cash account")
        verbose_name_plural = _("cash accounts")
        constraints = [
            models.CheckConstraint(condition=Q(kind="bank") | Q(available__gte=0),
                                   name="%(app_label)s_%(class)s_available_not_negative"),
            models.CheckConstraint(condition=Q(frozen__gte=0), name="%(app_label)s_%(class)s_frozen_not_negative"),
            models.CheckConstraint(condition=Q(kind="participant", account__isnull=False)
                                   | (~Q(kind="participant") & Q(account__isnull=True)),
                                   name="%(app_label)s_%(class)s_owner"),
            models.UniqueConstraint(fields=["kind"], condition=~Q(kind="participant"),
                                    name="%(app_label)s_%(class)s_one_system_account"),
        ]

    def __str__(self):
        return f"{self.account or self.get_kind_display()}: {self.available} + {self.frozen}"


class CashJournal(models.Model):
    """One cash movement; its postings sum to zero (double entry). Never updated or deleted."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit")
        WITHDRAWAL = "withdrawal", pgettext_lazy("cash paid out", "Withdrawal")
        FREEZE = "freeze", _("Freeze")
        RELEASE = "release", _("Release")
        SETTLEMENT = "settlement", _("Settlement")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=64, blank=True)
    order = models.ForeignKey("Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    trade = models.ForeignKey("Trade", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("cash journal entry")
        verbose_name_plural = _("cash journal")
        constraints = [
            models.UniqueConstraint(fields=["bank_reference"], condition=~Q(bank_reference=""),
                                    name="%(app_label)s_%(class)s_bank_reference_once"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind}"


class CashPosting(models.Model):
    """One leg of a journal entry: a signed amount on one bucket of one cash account."""

    class Bucket(models.TextChoices):
        AVAILABLE = "available", _("Available")
        FROZEN = "frozen", _("Frozen")

    journal = models.ForeignKey(CashJournal, on_delete=models.PROTECT, related_name="postings")
    cash_account = models.ForeignKey(CashAccount, on_delete=models.PROTECT, related_name="postings")
    bucket = models.CharField(_("bucket"), max_length=10, choices=Bucket.choices)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("cash posting")
        verbose_name_plural = _("cash postings")
        # Serves a participant's statement (its postings in time order).
        indexes = [models.Index(fields=["cash_account", "journal"], name="trading_posting_account_idx")]

    def __str__(self):
        return f"{self.cash_account_id} {self.bucket} {self.amount}"


class Order(models.Model):
    """A listed-agreement order (a listing). ``open_quantity`` is what still rests in the book.

    ``frozen_amount`` is the buyer's cash still frozen for the open part (price x quantity plus the
    fee rounded up); a sell order holds ``reservation_id`` in the registry for its open part.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PARTIAL = "partial", _("Partially filled")
        FILLED = "filled", _("Filled")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.OPEN, Status.PARTIAL)

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders")
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(_("side"), max_length=4, choices=Side.choices)
    price = models.DecimalField(_("price"), **MONEY)
    quantity = models.BigIntegerField(_("quantity (t)"))
    open_quantity = models.BigIntegerField(_("open (t)"))
    filled_quantity = models.BigIntegerField(_("filled (t)"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    sequence = models.BigIntegerField(_("sequence"), default=0)
    frozen_amount = models.DecimalField(_("frozen cash"), **MONEY, default=Decimal("0"))
    reservation = models.ForeignKey("registry.Reservation", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("registry reservation"))
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("placed"), db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="%(app_label)s_%(class)s_quantity_positive"),
            models.CheckConstraint(condition=Q(open_quantity__gte=0, filled_quantity__gte=0)
                                   & Q(open_quantity__lte=F("quantity") - F("filled_quantity")),
                                   name="%(app_label)s_%(class)s_quantities_consistent"),
            models.CheckConstraint(condition=Q(price__gt=0), name="%(app_label)s_%(class)s_price_positive"),
            models.CheckConstraint(condition=Q(frozen_amount__gte=0), name="%(app_label)s_%(class)s_frozen_ok"),
        ]
        # Serves the rebuild of a product's book from its open orders, and the public depth.
        indexes = [models.Index(fields=["product", "status", "sequence"], name="trading_order_book_idx")]

    def __str__(self):
        return f"#{self.pk} {self.side} {self.open_quantity}/{self.quantity} t @ {self.price}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Trade(models.Model):
    """One execution, settled delivery-versus-payment in the transaction that created it."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="trades")
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    buyer = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="buys")
    seller = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="sells")
    buy_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="buy_trades")
    sell_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="sell_trades")
    price = models.DecimalField(_("price"), **MONEY)
    quantity = models.BigIntegerField(_("quantity (t)"))
    value = models.DecimalField(_("value"), **MONEY)
    buyer_fee = models.DecimalField(_("buyer fee"), **MONEY)
    seller_fee = models.DecimalField(_("seller fee"), **MONEY)
    trade_date = models.DateField(_("trade date"))
    executed_at = models.DateTimeField(_("executed"))
    registry_transaction = models.ForeignKey("registry.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                             related_name="+", verbose_name=_("registry transaction"))

    class Meta:
        verbose_name = _("trade")
        verbose_name_plural = _("trades")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="%(app_label)s_%(class)s_quantity_positive"),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="%(app_label)s_%(class)s_no_self_trade"),
        ]
        # Serves the closing price (a product's trades of one day) and T+1 (an account's buys today).
        indexes = [models.Index(fields=["product", "trade_date"], name="trading_trade_day_idx"),
                   models.Index(fields=["buyer", "product", "trade_date"], name="trading_trade_buyer_idx")]

    def __str__(self):
        return f"{self.product} {self.quantity} t @ {self.price}"


class BulkProposal(models.Model):
    """A bulk agreement proposed to a named counterparty, confirmed or rejected within the session."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="bulk_proposals")
    initiator = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="bulk_initiated")
    counterparty = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="bulk_received")
    side = models.CharField(_("initiator side"), max_length=4, choices=Side.choices)
    price = models.DecimalField(_("price"), **MONEY)
    quantity = models.BigIntegerField(_("quantity (t)"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    frozen_amount = models.DecimalField(_("frozen cash"), **MONEY, default=Decimal("0"))
    reservation = models.ForeignKey("registry.Reservation", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("registry reservation"))
    expires_at = models.DateTimeField(_("expires"))
    created_at = models.DateTimeField(_("proposed"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    trade = models.OneToOneField(Trade, null=True, blank=True, on_delete=models.PROTECT, related_name="bulk")

    class Meta:
        verbose_name = _("bulk proposal")
        verbose_name_plural = _("bulk proposals")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(initiator=F("counterparty")),
                                   name="%(app_label)s_%(class)s_two_parties"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="%(app_label)s_%(class)s_quantity_positive"),
        ]
        # Serves the expiry sweep (proposals still waiting past their deadline).
        indexes = [models.Index(fields=["status", "expires_at"], name="trading_bulk_expiry_idx")]

    def __str__(self):
        return f"#{self.pk} {self.product} {self.quantity} t @ {self.price} ({self.status})"


class Auction(models.Model):
    """Single-direction bidding: a seller offers a quantity; bidders bid; allocation at the close.

    Pricing: ``pay_as_bid`` (each winning bid pays its own price) or ``uniform`` (every winner pays
    the lowest accepted price). Allocation is by price, highest first, then by time; the marginal bid
    may be filled in part.
    """

    class Pricing(models.TextChoices):
        PAY_AS_BID = "pay_as_bid", _("Pay as bid")
        UNIFORM = "uniform", _("Uniform (lowest accepted price)")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="auctions")
    seller = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="auctions")
    quantity = models.BigIntegerField(_("quantity (t)"))
    reserve_price = models.DecimalField(_("reserve price"), **MONEY)
    pricing = models.CharField(_("pricing"), max_length=12, choices=Pricing.choices)
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    reservation = models.ForeignKey("registry.Reservation", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("registry reservation"))
    sold_quantity = models.BigIntegerField(_("sold (t)"), default=0)
    clearing_price = models.DecimalField(_("clearing price"), **MONEY, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("auction")
        verbose_name_plural = _("auctions")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="%(app_label)s_%(class)s_quantity_positive"),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="%(app_label)s_%(class)s_window"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.product} {self.quantity} t"


class AuctionBid(models.Model):
    """A bid in an auction, with its cash frozen until the close."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        PARTIAL = "partial", _("Partly won")
        LOST = "lost", _("Lost")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="bids")
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="auction_bids")
    price = models.DecimalField(_("price"), **MONEY)
    quantity = models.BigIntegerField(_("quantity (t)"))
    allocated_quantity = models.BigIntegerField(_("allocated (t)"), default=0)
    frozen_amount = models.DecimalField(_("frozen cash"), **MONEY, default=Decimal("0"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("placed"))
    trade = models.OneToOneField(Trade, null=True, blank=True, on_delete=models.PROTECT, related_name="auction_bid")

    class Meta:
        verbose_name = _("auction bid")
        verbose_name_plural = _("auction bids")
        ordering = ["auction", "-price", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="%(app_label)s_%(class)s_quantity_positive"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.quantity} t @ {self.price}"


class DailyBar(models.Model):
    """A product's trading day: OHLC and closing price, volume and value by method."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="bars")
    date = models.DateField(_("date"))
    open = models.DecimalField(_("open"), **MONEY, null=True, blank=True)
    high = models.DecimalField(_("high"), **MONEY, null=True, blank=True)
    low = models.DecimalField(_("low"), **MONEY, null=True, blank=True)
    close = models.DecimalField(_("close"), **MONEY)
    previous_close = models.DecimalField(_("previous close"), **MONEY)
    listed_volume = models.BigIntegerField(_("listed volume (t)"), default=0)
    listed_value = models.DecimalField(_("listed value"), **MONEY, default=Decimal("0"))
    bulk_volume = models.BigIntegerField(_("bulk volume (t)"), default=0)
    bulk_value = models.DecimalField(_("bulk value"), **MONEY, default=Decimal("0"))
    auction_volume = models.BigIntegerField(_("auction volume (t)"), default=0)
    auction_value = models.DecimalField(_("auction value"), **MONEY, default=Decimal("0"))
    computed_at = models.DateTimeField(_("computed"), auto_now=True)

    class Meta:
        verbose_name = _("daily bar")
        verbose_name_plural = _("daily bars")
        ordering = ["product", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["product", "date"], name="%(app_label)s_%(class)s_one_per_day"),
        ]

    def __str__(self):
        return f"{self.product} {self.date} {self.close}"

    @property
    def volume(self) -> int:
        return self.listed_volume + self.bulk_volume + self.auction_volume

    @property
    def value(self) -> Decimal:
        return self.listed_value + self.bulk_value + self.auction_value


class Alert(models.Model):
    """A surveillance alert in the regulators' queue, with the evidence that raised it."""

    class Kind(models.TextChoices):
        WASH_TRADE = "wash_trade", _("Trade between related accounts")
        FAR_FROM_MARKET = "far_from_market", _("Order far from the market")
        CLOSE_CONCENTRATION = "close_concentration", _("Concentrated trading near the close")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ESCALATED = "escalated", _("Escalated")
        DISMISSED = "dismissed", _("Dismissed")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="alerts")
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="alerts")
    trade_date = models.DateField(_("trade date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    summary = models.CharField(_("summary"), max_length=300)
    evidence = models.JSONField(_("evidence"), default=dict)
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    review_note = models.CharField(_("review note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("surveillance alert")
        verbose_name_plural = _("surveillance alerts")
        ordering = ["-id"]
        constraints = [
            # One alert per rule, account, day and subject: rerunning the scan never doubles the queue.
            models.UniqueConstraint(fields=["kind", "product", "account", "trade_date", "summary"],
                                    name="%(app_label)s_%(class)s_once"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.account} {self.trade_date}"
