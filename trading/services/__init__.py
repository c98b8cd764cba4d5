"""Every write of the trading app, one function per use case (see each module's docstring)."""

from .auction import auction_bid, auction_close, auction_create, auction_withdraw_bid
from .bulk import bulk_confirm, bulk_expire, bulk_propose, bulk_reject, bulk_withdraw
from .cash import cash_deposit, cash_withdraw
from .market import bar_compute, session_close
from .orders import order_amend, order_cancel, order_expire, order_place, order_take, orders_place_batch
from .participants import account_of_user, check_acts_for, participant_open
from .surveillance import alert_review, surveillance_scan

__all__ = [
    "account_of_user", "alert_review", "auction_bid", "auction_close", "auction_create", "auction_withdraw_bid",
    "bar_compute", "bulk_confirm", "bulk_expire", "bulk_propose", "bulk_reject", "bulk_withdraw", "cash_deposit",
    "cash_withdraw", "check_acts_for", "order_amend", "order_cancel", "order_expire", "order_place", "order_take",
    "orders_place_batch", "participant_open", "session_close", "surveillance_scan",
]
