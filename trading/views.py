"""Portal pages: the public market (prices, chart, depth, history) and a participant's trading desk."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cets.common.errors import DomainError
from cets.common.export import export_response

from . import selectors, services
from .charts import price_chart
from .forms import OrderForm, TakeForm
from .models import BulkProposal, Order


def public_market(request):
    """Every product with its last close (public)."""
    rows = []
    for product in selectors.products_public():
        last = selectors.bars(product, limit=1)
        rows.append({"product": product, "bar": last[0] if last else None})
    return render(request, "trading/public_market.html", {"rows": rows})


def public_product(request, code: str):
    """A product's chart of closes, best-5 depth, daily history and last trades (public)."""
    try:
        product = selectors.product_get(code)
    except DomainError:
        raise Http404
    bars = selectors.bars(product)
    return render(request, "trading/public_product.html", {
        "product": product, "chart": price_chart(bars), "bars": list(reversed(bars))[:60],
        "depth": selectors.depth(product), "trades": selectors.last_trades(product),
        "sell_listings": selectors.listings(product, "SELL"), "buy_listings": selectors.listings(product, "BUY")})


def _desk_account(request):
    account = services.account_of_user(request.user)
    if account is None:
        raise Http404(_("You have no trading account."))
    return account


@login_required
def desk(request):
    """The participant's trading desk: cash, order entry, open orders, trades, bulk proposals.

    A user whose organisation has no trading account yet is told so (and how to get one) instead
    of a bare 404.
    """
    account = services.account_of_user(request.user)
    if account is None:
        return render(request, "trading/no_account.html", status=200)
    return render(request, "trading/desk.html", {
        "account": account, "cash": account.cash, "form": OrderForm(),
        "orders": selectors.orders_for(request.user).order_by("-id")[:50],
        "trades": selectors.trades_for(request.user).order_by("-id")[:50],
        "proposals": selectors.proposals_for(request.user).filter(status=BulkProposal.Status.PROPOSED),
        "products": selectors.products_public()})


def _run(request, fn, success: str):
    try:
        fn()
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, success)
    return redirect("trading:desk")


@login_required
@require_POST
def order_place(request):
    account = _desk_account(request)
    form = OrderForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Fill in product, side, price and quantity."))
        return redirect("trading:desk")
    v = form.cleaned_data
    return _run(request, lambda: services.order_place(
        user=request.user, account=account, product=selectors.product_get(v["product"]), side=v["side"],
        price=v["price"], quantity=v["quantity"]), _("Order placed."))


@login_required
@require_POST
def order_take(request, pk: int):
    account = _desk_account(request)
    listing = get_object_or_404(Order, pk=pk)
    form = TakeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a quantity."))
        return redirect("trading:desk")
    return _run(request, lambda: services.order_take(user=request.user, account=account, listing=listing,
                                                     quantity=form.cleaned_data["quantity"]), _("Listing taken."))


@login_required
@require_POST
def order_cancel(request, pk: int):
    order = get_object_or_404(selectors.orders_for(request.user), pk=pk)
    return _run(request, lambda: services.order_cancel(user=request.user, order=order), _("Order cancelled."))


@login_required
@require_POST
def bulk_decide(request, pk: int, decision: str):
    proposal = get_object_or_404(selectors.proposals_for(request.user), pk=pk)
    service = {"confirm": services.bulk_confirm, "reject": services.bulk_reject}.get(decision)
    if service is None:
        raise Http404
    return _run(request, lambda: service(user=request.user, proposal=proposal), _("Proposal updated."))


@login_required
def export(request, what: str):
    """The participant's orders, trades or cash statement as CSV or Excel (``?export=xlsx``)."""
    account = _desk_account(request)
    fmt = "xlsx" if request.GET.get("export") == "xlsx" else "csv"
    if what == "orders":
        rows = ([o.pk, o.created_at, o.product.code, o.side, o.price, o.quantity, o.filled_quantity, o.status]
                for o in selectors.orders_for(request.user).order_by("id"))
        headers = ["id", "placed", "product", "side", "price", "quantity", "filled", "status"]
    elif what == "trades":
        rows = ([t.pk, t.executed_at, t.product.code, t.method, "BUY" if t.buyer_id == account.pk else "SELL",
                 t.price, t.quantity, t.value, t.buyer_fee if t.buyer_id == account.pk else t.seller_fee]
                for t in selectors.trades_for(request.user).order_by("id"))
        headers = ["id", "executed", "product", "method", "side", "price", "quantity", "value", "fee"]
    elif what == "statement":
        rows = ([p.journal.created_at, p.journal.get_kind_display(), p.get_bucket_display(), p.amount, p.journal.memo]
                for p in selectors.statement(account))
        headers = ["time", "kind", "bucket", "amount", "memo"]
    else:
        raise Http404
    return export_response(f"{what}-{account.number}", headers, rows, fmt)
