"""Browser flows across apps: Playwright driving Debian's Chromium against the live server, in English.

1. The entity's carbon manager downloads the MRV template, fills one past month, uploads it and sees the
   stored emissions; a second file with errors lists them by sheet/row/column and stores nothing.
2. The same user sees CEA holdings by vintage with serial ranges in the registry and downloads the statement.
3. The entity surrenders CEAs for its obligation in the compliance portal; the remaining tonnes go down.
4. A provincial regulator (password + TOTP at /admin/) approves another regulator's proposal from the
   approval queue; the transaction completes.

Each flow leaves a screenshot of its final page in ``$CETS_SCREENSHOTS`` (default /tmp) as flow_N.png.
"""

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from entities.models import User
from mrv.models import MonthlySubmission
from mrv.spreadsheet import column_key
from registry import services as registry
from registry.models import Holding, Transaction
from tests import factories as f
from tests.compliance.conftest import confirm
from tests.test_browser import PASSWORD, SCREENSHOTS, _token, browser  # noqa: F401  (module-scoped launch)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser):  # noqa: F811
    """A fresh English page (the assertions read the English strings and number format)."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


@pytest.fixture
def national2(db):
    return f.regulator(User.Role.NATIONAL_REGULATOR, username="mee2")


def _portal_login(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{live_server.url}/home/")


def _issue(instrument, quantity, proposer, approver, to_account=None) -> Transaction:
    tx = registry.issuance_propose(actor=proposer, instrument=instrument, quantity=quantity, deliver_to=to_account)
    return registry.transaction_approve(actor=approver, transaction=tx)


# ---------------------------------------------------------------------------------------------- 1. MRV

@pytest.fixture
def mrv_parameters(db):
    """The accounting parameters are seeded by a migration: put them back after an earlier test's flush."""
    from django.apps import apps

    importlib.import_module("mrv.migrations.0002_seed_parameters").seed(apps, None)


def _fill(path, *, month: int, overrides: dict | None = None) -> int:
    """Keep only ``month``'s rows of the downloaded template and fill plausible figures (no warning fires);
    ``overrides`` maps a spreadsheet row to wrong values. Returns the rows kept."""
    wb = load_workbook(path)
    ws = wb["MonthlyData"]
    header = [column_key(c.value) for c in ws[1]]
    for row in range(ws.max_row, 2, -1):  # row 2 is the example the reader skips
        if int(ws.cell(row=row, column=header.index("month") + 1).value) != month:
            ws.delete_rows(row)
    # 720 h at 80 % load; about 41 % of the coal's heat leaves as electricity. The coal oxidation rate has
    # no default after 2025 data, so the entity reports it.
    common = {"heat_supplied_gj": "0", "operating_hours": "720", "load_factor": "0.80",
              "purchased_electricity_mwh": "0", "ncv": "20.908", "oxidation_rate": "0.99"}
    per_unit = {"HB-WH-01": {"electricity_generated_mwh": "380000", "electricity_supplied_mwh": "357000",
                             "consumption": "160000"},
                "HB-WH-02": {"electricity_generated_mwh": "190000", "electricity_supplied_mwh": "178500",
                             "consumption": "80000"}}
    for row in range(3, ws.max_row + 1):
        unit = ws.cell(row=row, column=header.index("unit_code") + 1).value
        for name, value in {**common, **per_unit[unit], **(overrides or {}).get(row, {})}.items():
            ws.cell(row=row, column=header.index(name) + 1, value=value)
    wb.save(path)
    return ws.max_row - 2


def test_flow_1_mrv_template_upload_and_errors(page, live_server, entity_user, entity, mrv_parameters, tmp_path):
    last = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    _portal_login(page, live_server, entity_user)
    page.goto(f"{live_server.url}/mrv/")  # entity users land on their own dashboard
    page.wait_for_url(f"{live_server.url}/mrv/entities/{entity.pk}/")
    page.goto(f"{live_server.url}/mrv/entities/{entity.pk}/?year={last.year}")
    page.click("text=Upload filled data")
    page.wait_for_url(f"{live_server.url}/mrv/upload/?year={last.year}")
    with page.expect_download() as info:
        page.click("text=Download the template")
    download = info.value
    assert download.suggested_filename == f"mrv-{entity.credit_code}-{last.year}.xlsx"
    good = tmp_path / "good.xlsx"
    download.save_as(good)
    assert _fill(good, month=last.month) == 2  # HB-WH-01 and HB-WH-02, one row each

    page.set_input_files("input[name=file]", str(good))
    page.click("form.card button[type=submit]")
    page.wait_for_selector("[data-testid=upload-changes]")  # the preview: nothing stored yet
    assert "new month" in page.inner_text("[data-testid=upload-changes]")
    assert not MonthlySubmission.objects.filter(entity=entity).exists()
    page.click("text=Confirm and store these changes")
    page.wait_for_url(f"{live_server.url}/mrv/entities/{entity.pk}/")
    # FC x NCV x 0.03085 tC/GJ (default carbon per heat) x 0.99 x 44/12:
    # 160,000 t -> 374,622.853 t CO2; 80,000 t -> 187,311.427 t CO2.
    assert "2 monthly submissions stored (0 earlier versions kept), 561934.280 tCO2." in page.inner_text("main")
    stored = MonthlySubmission.objects.filter(entity=entity, year=last.year, month=last.month)
    assert sorted((s.unit.code, s.emissions_tco2, s.version, s.on_time) for s in stored) == [
        ("HB-WH-01", Decimal("374622.853"), 1, True), ("HB-WH-02", Decimal("187311.427"), 1, True)]
    if last.year == timezone.localdate().year:
        assert page.inner_text("[data-testid=total]") == "Total so far: 561934.280 tCO2"
        assert page.inner_text("[data-testid=warnings]") == "No open warnings."
    page.screenshot(path=str(SCREENSHOTS / "flow_1_stored.png"), full_page=True)

    page.goto(f"{live_server.url}/mrv/upload/?year={last.year}")
    with page.expect_download() as info:
        page.click("text=Download the template")
    bad = tmp_path / "bad.xlsx"
    info.value.save_as(bad)
    _fill(bad, month=last.month, overrides={3: {"load_factor": "1.5"}, 4: {"consumption": "-3"}})
    page.set_input_files("input[name=file]", str(bad))
    page.click("form.card button[type=submit]")
    page.wait_for_selector("[data-testid=upload-errors]")
    assert page.inner_text("[data-testid=upload-errors]") == "2 problems; nothing was saved."
    rows = {tuple(cell.strip() for cell in row.split("\t")[:4])
            for row in page.inner_text("main table tbody").splitlines()}
    assert rows == {("MonthlyData", "3", "load_factor", "out_of_range"),
                    ("MonthlyData", "4", "consumption", "negative")}
    assert MonthlySubmission.objects.filter(entity=entity).count() == 2  # no new version
    page.screenshot(path=str(SCREENSHOTS / "flow_1.png"), full_page=True)


# ---------------------------------------------------------------------------------------------- 2. registry

def test_flow_2_registry_holdings_and_statement(page, live_server, entity_user, entity, national, national2, tmp_path):
    account = registry.account_for_entity(entity=entity)
    cea21 = registry.instrument_get_or_create_cea(vintage=2021)
    cea22 = registry.instrument_get_or_create_cea(vintage=2022)
    _issue(cea21, 5000, national, national2)
    _issue(cea22, 2000, national, national2)
    registry.allocation_execute(actor=national, instrument=cea21, allocations={account.pk: 3000},
                                reference="browser-2021")
    registry.allocation_execute(actor=national, instrument=cea22, allocations={account.pk: 1500},
                                reference="browser-2022")

    _portal_login(page, live_server, entity_user)
    page.goto(f"{live_server.url}/registry/")
    assert page.inner_text("[data-testid=accounts] tbody").split("\t")[:2] == [account.number, entity.name]
    page.click(f"text={account.number}")
    page.wait_for_url(f"{live_server.url}/registry/accounts/{account.pk}/")
    holding21 = page.inner_text(f"[data-testid=holding-{cea21.code}]")
    holding22 = page.inner_text(f"[data-testid=holding-{cea22.code}]")
    assert "Total 3,000 · Available 3,000 · Reserved 0 · Frozen 0 t" in holding21
    assert f"{cea21.serial_range(1, 3000)}\t3,000\tAvailable" in holding21
    assert "Total 1,500 · Available 1,500" in holding22
    assert f"{cea22.serial_range(1, 1500)}\t1,500\tAvailable" in holding22
    # vintages in order
    assert page.inner_text("main").index(cea21.code) < page.inner_text("main").index(cea22.code)

    with page.expect_download() as info:
        page.click("text=CSV")
    download = info.value
    assert download.suggested_filename == f"statement-{account.number}.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 3  # header + two allocations
    assert cea21.serial_range(1, 3000) in lines[1] and ",3000," in lines[1]
    assert cea22.serial_range(1, 1500) in lines[2] and ",1500," in lines[2]
    page.screenshot(path=str(SCREENSHOTS / "flow_2.png"), full_page=True)


# ---------------------------------------------------------------------------------------------- 3. compliance

def test_flow_3_compliance_surrender(page, live_server, entity_user, entity, national, national2):
    from django.apps import apps

    from compliance.cycles_seed import load_cycles
    from compliance.models import ComplianceCycle, Obligation
    from compliance.services import obligations_calculate

    load_cycles(apps)  # seeded by a migration, gone after an earlier transactional test's flush
    cycle = ComplianceCycle.objects.get(code="2021-2022")
    confirm(entity, 2021, "1000000.4")
    obligations_calculate(actor=national, cycle=cycle, year=2021)
    obligation = Obligation.objects.get(entity=entity, year=2021)
    assert obligation.quantity_tco2 == 1_000_000
    account = registry.account_for_entity(entity=entity)
    _issue(registry.instrument_get_or_create_cea(vintage=2021), 100_000, national, national2, to_account=account)

    _portal_login(page, live_server, entity_user)
    page.goto(f"{live_server.url}/compliance/")
    row = page.inner_text("[data-testid=obligations] tbody")
    # the cycle's deadline (2023-12-31) is past: nothing covered stands non-compliant, closed or not
    assert row.split("\t") == ["2021-2022", entity.name, "2021", "1,000,000", "0", "0", "1,000,000", "Non-compliant"]
    page.locator("[data-testid=obligations]").get_by_role("link", name="2021", exact=True).click()
    page.wait_for_url(f"{live_server.url}/compliance/obligations/{obligation.pk}/")
    assert page.inner_text("[data-testid=remaining]") == "1,000,000 t"
    page.fill("input[name=cea_vintage]", "2021")
    page.fill("input[name=cea_quantity]", "40000")
    page.click("[data-testid=surrender-form] button[type=submit]")
    preview = page.inner_text("[data-testid=surrender-preview] tbody")
    assert "CEA21" in preview and "40,000" in preview and "CN-CEA21-" in preview
    assert "1,000,000 t" in page.inner_text("[data-testid=surrender-before-after]")
    page.click("[data-testid=confirm-surrender]")
    page.wait_for_selector("text=Surrendered 40,000 t")
    assert page.inner_text("[data-testid=remaining]") == "960,000 t"
    steps = page.inner_text("[data-testid=steps] tbody")
    assert "40,000" in steps and "CEA" in steps
    obligation.refresh_from_db()
    assert (obligation.surrendered_tco2, obligation.remaining_tco2) == (40_000, 960_000)
    assert Holding.objects.get(account=account).total == 60_000

    # More than the account holds: refused on the page, nothing changed.
    page.fill("input[name=cea_vintage]", "2021")
    page.fill("input[name=cea_quantity]", "70000")
    page.click("[data-testid=surrender-form] button[type=submit]")
    page.wait_for_selector("[data-testid=surrender-form] .invalid-feedback")
    assert page.inner_text("[data-testid=remaining]") == "960,000 t"
    obligation.refresh_from_db()
    assert obligation.remaining_tco2 == 960_000
    page.screenshot(path=str(SCREENSHOTS / "flow_3.png"), full_page=True)


# ---------------------------------------------------------------------------------------------- 4. admin approval

def test_flow_4_provincial_regulator_approves_from_queue(page, live_server, hubei, entity, national, national2):
    hubei2 = f.regulator(User.Role.PROVINCIAL_REGULATOR, province_code="42", username="hubei2")
    account = registry.account_for_entity(entity=entity)
    cea21 = registry.instrument_get_or_create_cea(vintage=2021)
    _issue(cea21, 1000, national, national2, to_account=account)
    tx = registry.deduction_propose(actor=hubei2, account=account, instrument=cea21, quantity=250,
                                    reason="Penalty deduction for the 2021 shortfall")
    mine = registry.deduction_propose(actor=hubei, account=account, instrument=cea21, quantity=5,
                                      reason="Own proposal: not in my queue")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", hubei.username)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=otp_token]", _token(hubei))
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/registry/pendingapproval/")
    ids = page.locator("input[name=_selected_action]").evaluate_all("els => els.map(e => e.value)")
    assert ids == [str(tx.pk)]  # hubei's own proposal is not offered to hubei
    page.check(f"input[name=_selected_action][value='{tx.pk}']")
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "1 done." in page.inner_text(".messagelist")
    tx.refresh_from_db()
    assert (tx.status, tx.approved_by_id) == ("completed", hubei.pk)
    holding = Holding.objects.get(account=account, instrument=cea21)
    assert (holding.total, holding.reserved) == (750, 5)
    mine.refresh_from_db()
    assert mine.status == "awaiting_approval"
    assert page.locator("input[name=_selected_action]").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "flow_4.png"), full_page=True)
