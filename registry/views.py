"""Portal pages: accounts and holdings by vintage with serial ranges, history, statements; public totals and trace."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from cets.common.errors import NotFound
from cets.common.export import export_response

from . import selectors
from .models import Account, TransactionLeg
from .statements import statement_pdf


def _account_or_404(request, pk):
    try:
        return selectors.account_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404


def _with_receivers(transactions: QuerySet, accounts: QuerySet) -> QuerySet:
    """Annotate each transaction with the receiving account read from its legs (restricted to ``accounts``).

    An allocation has no ``to_account``: its legs carry the receiving accounts. Two correlated subqueries
    (first receiving account number, how many receiving accounts) keep the page at one query, where
    prefetching the legs of a national allocation would load thousands of rows per transaction.
    """
    legs = TransactionLeg.objects.filter(transaction=OuterRef("pk"), to_account__in=accounts)
    return transactions.annotate(
        leg_to_number=Subquery(legs.order_by("to_account__number").values("to_account__number")[:1]),
        leg_to_count=Subquery(legs.order_by().values("transaction")
                              .annotate(n=Count("to_account", distinct=True)).values("n")[:1]))


@login_required
def account_list(request):
    accounts = selectors.accounts_visible_to(request.user).order_by("number")
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    return render(request, "registry/accounts.html", {"page": page})


@login_required
def account_detail(request, pk: int):
    account = _account_or_404(request, pk)
    recent = _with_receivers(selectors.transactions_of(account), Account.objects.filter(pk=account.pk))
    recent = recent.order_by("-id")[:20]
    return render(request, "registry/account_detail.html", {
        "account": account, "holdings": selectors.holdings_by_vintage(account), "recent": recent})


@login_required
def transaction_list(request):
    qs = _with_receivers(selectors.transactions_visible_to(request.user),
                         selectors.accounts_visible_to(request.user).values("pk")).order_by("-id")
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "registry/transactions.html", {"page": page, "kind": kind})


def _date(value: str | None):
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def statement(request, pk: int):
    """The account statement as CSV, Excel or PDF (``?format=csv|xlsx|pdf&start=YYYY-MM-DD&end=...``)."""
    account = _account_or_404(request, pk)
    start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    rows = selectors.account_statement(account=account, start=start, end=end)
    fmt = request.GET.get("format", "csv")
    filename = f"statement-{account.number}"
    if fmt == "pdf":
        period = f"{start or '…'} – {end or '…'}"
        response = HttpResponse(statement_pdf(account=account, rows=rows, period=period),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
        return response
    if fmt not in ("csv", "xlsx"):
        raise Http404
    headers = [_("date"), _("transaction"), _("kind"), _("instrument"), _("counterparty"), _("received"), _("sent"),
               _("balance"), _("serial numbers"), _("reference")]
    return export_response(filename, headers, ([r[k] for k in selectors.STATEMENT_HEADERS] for r in rows), fmt)


def public_totals(request):
    """Public: per-vintage totals and a serial-number trace form."""
    trace, error = None, ""
    serial = request.GET.get("serial", "").strip()
    if serial:
        try:
            instrument, number = selectors.parse_serial(serial)
            trace = selectors.serial_history(instrument, number)
        except NotFound:
            error = _("No instrument has this serial number.")
    return render(request, "registry/public.html", {"totals": selectors.vintage_totals(), "serial": serial,
                                                    "trace": trace, "error": error})
