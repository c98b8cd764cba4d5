"""Portal pages, statements (CSV, Excel, PDF), public pages and the regulator admin."""

import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from openpyxl import load_workbook

from registry import selectors, services
from registry.models import Transaction
from tests.conftest import otp_login
from tests.registry.conftest import issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(fund, cea21, entity_account):
    fund(entity_account, cea21, 1_000)
    services.surrender_execute(actor=None, account=entity_account, instrument=cea21, quantity=300,
                               compliance_year=2021)
    return entity_account


def test_holdings_page_shows_serial_ranges(client, funded, entity_user):
    client.force_login(entity_user)
    assert funded.number in client.get("/registry/").content.decode()
    page = client.get(f"/registry/accounts/{funded.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "CN-CEA21-000000000301…CN-CEA21-000000001000" in page
    assert "700" in page and "Surrender" in page


def test_other_entity_and_other_province_refused(client, funded, other_entity_user, guangdong, hubei):
    for user in (other_entity_user, guangdong):
        otp_login(client, user)
        assert funded.number not in client.get("/registry/").content.decode()
        assert client.get(f"/registry/accounts/{funded.pk}/").status_code == 404
        assert client.get(f"/registry/accounts/{funded.pk}/statement/?format=pdf").status_code == 404
    otp_login(client, hubei)
    assert client.get(f"/registry/accounts/{funded.pk}/").status_code == 200


def test_anonymous_redirected(client, funded):
    response = client.get(f"/registry/accounts/{funded.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_statement_csv_excel_pdf(client, funded, entity_user):
    client.force_login(entity_user)
    csv = client.get(f"/registry/accounts/{funded.pk}/statement/?format=csv").content.decode("utf-8-sig")
    lines = csv.strip().splitlines()
    assert len(lines) == 3 and ",1000,0,1000," in lines[1] and ",0,300,700," in lines[2]
    xlsx = client.get(f"/registry/accounts/{funded.pk}/statement/?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [row[7] for row in sheet.iter_rows(min_row=2, values_only=True)] == [1_000, 700]
    pdf = client.get(f"/registry/accounts/{funded.pk}/statement/?format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert b"STSong-Light" in pdf.content


def test_statement_period_opening_balance(funded, cea21):
    rows = selectors.account_statement(account=funded, start=Transaction.objects.get(kind="surrender")
                                       .executed_at.date())
    assert rows[-1]["balance"] == 700


def test_transactions_page_scoped(client, funded, entity_user, other_entity_user):
    client.force_login(other_entity_user)
    assert "Surrender" not in client.get("/registry/transactions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.force_login(entity_user)
    assert "Surrender" in client.get("/registry/transactions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_public_page_totals_and_trace(client, funded):
    page = client.get("/registry/public/?serial=CN-CEA21-000000000005", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1,000" in page and "300" in page
    assert "National surrender account" in page and funded.number not in page and funded.name not in page
    page = client.get("/registry/public/?serial=XX-1", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No instrument has this serial number." in page


# ------------------------------------------------------------------------------------------------- admin

def _admin_login(client, user):
    device = TOTPDevice.objects.get(user=user)
    token = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    response = client.post("/admin/login/?next=/admin/", {"username": user.username, "password": "pass-word-123",
                                                           "otp_token": token})
    assert response.status_code == 302


def test_admin_scoped_and_approval_action(client, national, national2, guangdong, funded, cea21):
    tx = services.issuance_propose(actor=national, instrument=cea21, quantity=77)
    _admin_login(client, guangdong)
    assert funded.number not in client.get("/admin/registry/account/").content.decode()
    assert client.get("/admin/registry/block/").status_code == 200
    client.logout()
    _admin_login(client, national2)
    assert funded.number in client.get("/admin/registry/account/").content.decode()
    queue = client.get("/admin/registry/pendingapproval/").content.decode()
    assert f">{tx.pk}<" in queue
    client.post("/admin/registry/pendingapproval/", {"action": "approve", "_selected_action": [tx.pk]})
    tx.refresh_from_db()
    assert tx.status == "completed" and tx.approved_by == national2


def test_admin_status_change_needs_comment(client, national, funded):
    _admin_login(client, national)
    url = "/admin/registry/account/"
    page = client.post(url, {"action": "set_partially_frozen", "_selected_action": [funded.pk]})
    assert page.status_code == 200 and b"comment" in page.content
    funded.refresh_from_db()
    assert funded.status == "open"
    client.post(url, {"action": "set_partially_frozen", "_selected_action": [funded.pk], "apply": "1",
                      "comment": "court order 12"})
    funded.refresh_from_db()
    assert funded.status == "partially_frozen" and funded.status_comment == "court order 12"


def test_entity_user_has_no_admin(client, entity_user):
    client.force_login(entity_user)
    assert client.get("/admin/registry/account/").status_code == 302


def test_admin_approves_a_bulk_withdrawal_from_the_queue_and_shows_its_lines(client, national, national2, guangdong,
                                                                              funded, cea21):
    tx = services.withdrawal_bulk_propose(actor=national, instrument=cea21, withdrawals={funded.pk: 30},
                                          reason="over-allocation")
    _admin_login(client, guangdong)  # a province never sees a withdrawal in its queue
    assert f">{tx.pk}<" not in client.get("/admin/registry/pendingapproval/").content.decode()
    client.logout()
    _admin_login(client, national2)
    assert f">{tx.pk}<" in client.get("/admin/registry/pendingapproval/").content.decode()
    client.post("/admin/registry/pendingapproval/", {"action": "approve", "_selected_action": [tx.pk]})
    tx.refresh_from_db()
    assert (tx.status, tx.quantity, tx.approved_by) == ("completed", 30, national2)
    assert selectors.balance(funded, cea21).total == 1_000 - 300 - 30  # funded, surrendered, withdrawn
    page = client.get(f"/admin/registry/transaction/{tx.pk}/change/")
    assert page.status_code == 200 and funded.number in page.content.decode()


def _state_cells(page: str) -> list[str]:
    return re.findall(r'<td data-testid="range-state">([^<]*)</td>', page)


def test_range_states_are_translated(client, funded, entity_user):
    client.force_login(entity_user)
    url = f"/registry/accounts/{funded.pk}/"
    assert _state_cells(client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()) == ["Available"]
    assert _state_cells(client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()) == ["可用"]
    # The selector keeps the code for callers that branch on it.
    assert [r["state"] for r in selectors.holdings_by_vintage(funded)[0]["ranges"]] == ["available"]


def _to_cells(page: str) -> list[str]:
    return [c.strip() for c in re.findall(r'<td data-testid="tx-to">([^<]*)</td>', page)]


def test_allocation_row_shows_receiving_account(client, fund, cea21, entity_account, other_account, national,
                                                national2, entity_user, django_assert_num_queries):
    fund(entity_account, cea21, 500)
    fund(other_account, cea21, 200)
    client.force_login(entity_user)
    page = client.get(f"/registry/accounts/{entity_account.pk}/").content.decode()
    assert _to_cells(page) == [entity_account.number]  # the allocation, to this account (not "—")
    page = client.get("/registry/transactions/").content.decode()
    assert _to_cells(page) == [entity_account.number]  # the other entity's allocation stays out of sight
    # One allocation to two accounts: each holder sees its own account; the national regulator the first and "+1".
    issue(cea21, 30, national, national2)
    services.allocation_execute(actor=national, instrument=cea21, reference="test-two-accounts",
                                allocations={entity_account.pk: 10, other_account.pk: 20})
    assert _to_cells(client.get("/registry/transactions/").content.decode())[0] == entity_account.number
    otp_login(client, national)
    first = min(entity_account.number, other_account.number)
    assert _to_cells(client.get("/registry/transactions/").content.decode())[0] == f"{first} (+1)"


def test_account_page_reads_receivers_without_a_query_per_row(client, fund, cea21, entity_account, entity_user,
                                                              django_assert_num_queries):
    fund(entity_account, cea21, 10)
    client.force_login(entity_user)
    url = f"/registry/accounts/{entity_account.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(4):
        fund(entity_account, cea21, 11 + n)
    with django_assert_num_queries(len(one.captured_queries)):
        page = client.get(url).content.decode()
    assert _to_cells(page) == [entity_account.number] * 5
