"""The registry's services: serial blocks, four-eyes, transfers, reservations, end of life, invariants."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from cets.common.errors import Conflict, DomainError, Forbidden
from registry import selectors, services
from registry.models import Account, Block, Holding, Instrument, Reservation, Transaction, TransactionLeg
from tests import factories as f

from .conftest import assert_ledger_sound, close, issue, trust

pytestmark = pytest.mark.django_db
TS = Transaction.Status


def ranges(account, instrument):
    return list(Block.objects.filter(account=account, instrument=instrument).order_by("serial_start")
                .values_list("serial_start", "serial_end"))


def test_instruments_and_serial_format(db):
    cea = services.instrument_get_or_create_cea(vintage=2020)
    assert cea.code == "CEA19-20" and services.instrument_get_or_create_cea(vintage=2019) == cea
    assert services.instrument_get_or_create_cea(vintage=2021).code == "CEA21"
    ccer = services.instrument_create_ccer(project_ref="P000123", vintage=2024)
    assert ccer.code == "CCER-P000123-2024" and ccer.kind == "ccer"
    assert services.instrument_create_ccer(project_ref="P000123", vintage=2024) == ccer
    assert cea.serial(1) == "CN-CEA19-20-000000000001"
    assert ccer.serial_range(5, 9) == "CN-CCER-P000123-2024-000000000005…CN-CCER-P000123-2024-000000000009"
    with pytest.raises(DomainError) as err:
        services.instrument_create_ccer(project_ref="bad ref!", vintage=2024)
    assert err.value.field == "project_ref"


def test_issuance_needs_a_second_regulator(national, national2, cea21):
    tx = services.issuance_propose(actor=national, instrument=cea21, quantity=1_000_000)
    assert tx.status == TS.AWAITING_APPROVAL and Block.objects.count() == 0
    with pytest.raises(Forbidden) as err:
        services.transaction_approve(actor=national, transaction=tx)
    assert err.value.code == "own_proposal"
    assert Block.objects.count() == 0
    tx = services.transaction_approve(actor=national2, transaction=tx)
    assert tx.status == TS.COMPLETED and tx.approved_by == national2
    alloc = services.national_account(kind=Account.Kind.NATIONAL_ALLOCATION)
    assert ranges(alloc, cea21) == [(1, 1_000_000)]
    cea21.refresh_from_db()
    assert cea21.next_serial == 1_000_001
    # a second issuance continues the series and merges with the adjacent block
    issue(cea21, 500, national, national2)
    assert ranges(alloc, cea21) == [(1, 1_000_500)]
    assert selectors.balance(alloc, cea21).total == 1_000_500
    assert_ledger_sound()


def test_provincial_regulator_cannot_issue(hubei, cea21):
    with pytest.raises(Forbidden):
        services.issuance_propose(actor=hubei, instrument=cea21, quantity=10)
    assert Transaction.objects.count() == 0


def test_allocation_splits_serials_and_reruns_without_doubling(national, national2, cea21, entity_account,
                                                               other_account):
    issue(cea21, 10_000, national, national2)
    plan = {entity_account.pk: 6_000, other_account.pk: 3_000}
    tx = services.allocation_execute(actor=national, instrument=cea21, allocations=plan, reference="2021-run-1")
    assert tx.status == TS.COMPLETED and tx.quantity == 9_000
    assert ranges(entity_account, cea21) == [(1, 6_000)]
    assert ranges(other_account, cea21) == [(6_001, 9_000)]
    again = services.allocation_execute(actor=national, instrument=cea21, allocations=plan, reference="2021-run-1")
    assert again.pk == tx.pk and TransactionLeg.objects.filter(transaction=tx).count() == 2
    assert selectors.balance(entity_account, cea21).total == 6_000
    alloc = services.national_account(kind=Account.Kind.NATIONAL_ALLOCATION)
    assert selectors.balance(alloc, cea21).total == 1_000
    with pytest.raises(Conflict):
        services.allocation_execute(actor=national, instrument=cea21, allocations={entity_account.pk: 1},
                                    reference="2021-run-1")
    assert_ledger_sound()


def test_allocation_resumes_after_partial_run(national, national2, cea21, entity_account, other_account,
                                              monkeypatch):
    """A crash after the first chunk: the rerun allocates only the rest."""
    issue(cea21, 100, national, national2)
    monkeypatch.setattr(services, "ALLOCATION_CHUNK", 1)
    calls = {"n": 0}
    real = services._allocate_chunk

    def crash_second(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker died")
        return real(*args)

    monkeypatch.setattr(services, "_allocate_chunk", crash_second)
    plan = {entity_account.pk: 40, other_account.pk: 50}
    with pytest.raises(RuntimeError):
        services.allocation_execute(actor=None, instrument=cea21, allocations=plan, reference="r")
    tx = Transaction.objects.get(reference="r")
    assert tx.status == TS.PROCESSING and selectors.balance(entity_account, cea21).total == 40
    assert_ledger_sound()
    monkeypatch.setattr(services, "_allocate_chunk", real)
    tx = services.allocation_execute(actor=None, instrument=cea21, allocations=plan, reference="r")
    assert tx.status == TS.COMPLETED
    assert selectors.balance(entity_account, cea21).total == 40
    assert selectors.balance(other_account, cea21).total == 50
    assert_ledger_sound()


def test_transfer_takes_lowest_serials_and_merges(fund, cea21, entity_user, entity_account, other_account):
    fund(entity_account, cea21, 1_000)
    trust(entity_user, entity_account, other_account)
    tx = services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=300)
    assert tx.status == TS.COMPLETED
    assert ranges(other_account, cea21) == [(1, 300)]
    assert ranges(entity_account, cea21) == [(301, 1_000)]
    services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                             instrument=cea21, quantity=200)
    assert ranges(other_account, cea21) == [(1, 500)]
    assert selectors.balance(entity_account, cea21) == selectors.Balance(500, 500, 0, 0)
    legs = list(tx.legs.values_list("serial_start", "serial_end", "quantity"))
    assert legs == [(1, 300, 300)]
    assert_ledger_sound()


def test_untrusted_transfer_is_delayed_cancellable_and_runs_when_due(fund, cea21, entity_user, entity_account,
                                                                     other_account):
    fund(entity_account, cea21, 1_000)
    tx = services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=400, reference="contract 7")
    assert tx.status == TS.DELAYED and tx.not_before > timezone.now() + dt.timedelta(hours=25)
    assert selectors.balance(entity_account, cea21) == selectors.Balance(1_000, 600, 400, 0)
    assert services.transfers_execute_due() == 0
    cancelled = services.transaction_cancel(actor=entity_user, transaction=tx, reason="wrong buyer")
    assert cancelled.status == TS.CANCELLED
    assert selectors.balance(entity_account, cea21) == selectors.Balance(1_000, 1_000, 0, 0)
    assert ranges(entity_account, cea21) == [(1, 1_000)]
    tx2 = services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                   instrument=cea21, quantity=400)
    assert services.transfers_execute_due(now=tx2.not_before + dt.timedelta(seconds=1)) == 1
    tx2.refresh_from_db()
    assert tx2.status == TS.COMPLETED
    assert selectors.balance(other_account, cea21).total == 400
    assert Reservation.objects.get(pk=tx2.reservation_id).status == Reservation.Status.CLOSED
    assert_ledger_sound()


def test_second_representative_required(fund, cea21, entity, entity_user, entity_account, other_account):
    fund(entity_account, cea21, 100)
    services.account_set_second_approval(actor=entity_user, account=entity_account, required=True)
    trust(entity_user, entity_account, other_account)
    tx = services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=60)
    assert tx.status == TS.AWAITING_APPROVAL
    with pytest.raises(Forbidden):
        services.transaction_approve(actor=entity_user, transaction=tx)
    colleague = f.UserFactory(role="entity", entity=entity)
    tx = services.transaction_approve(actor=colleague, transaction=tx)
    assert tx.status == TS.COMPLETED and selectors.balance(other_account, cea21).total == 60
    assert_ledger_sound()


def test_second_approval_required_meanwhile_is_not_bypassed(fund, cea21, entity_user, entity_account, other_account):
    """The account object the caller holds may be stale; the rule is applied to the row as locked."""
    fund(entity_account, cea21, 100)
    trust(entity_user, entity_account, other_account)
    stale = Account.objects.get(pk=entity_account.pk)
    services.account_set_second_approval(actor=entity_user, account=entity_account, required=True)
    assert stale.requires_second_approval is False
    tx = services.transfer_create(actor=entity_user, from_account=stale, to_account=other_account,
                                  instrument=cea21, quantity=60)
    assert tx.status == TS.AWAITING_APPROVAL
    assert selectors.balance(entity_account, cea21).reserved == 60
    assert selectors.balance(other_account, cea21).total == 0
    assert_ledger_sound()


def test_named_representatives_replace_holder_users(national, national2, fund, cea21, entity, entity_user,
                                                    entity_account, other_account):
    fund(entity_account, cea21, 100)
    reader = f.UserFactory(role="entity", entity=entity)
    added = services.representative_add(actor=national, account=entity_account, user=reader, right="read")
    services.transaction_approve(actor=national2, transaction=added.requests.get())
    with pytest.raises(Forbidden):
        services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                 instrument=cea21, quantity=1)
    with pytest.raises(Forbidden):
        services.transfer_create(actor=reader, from_account=entity_account, to_account=other_account,
                                 instrument=cea21, quantity=1)
    rep = services.representative_add(actor=national, account=entity_account, user=entity_user,
                                      right="initiate_approve")
    services.transaction_approve(actor=national2, transaction=rep.requests.get())
    rep.refresh_from_db()
    services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                             instrument=cea21, quantity=1)
    services.representative_set_status(actor=national, representative=rep, status="suspended", comment="left")
    with pytest.raises(Forbidden):
        services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                 instrument=cea21, quantity=1)


def test_surrender_records_compliance_year(fund, cea21, entity_user, entity_account):
    fund(entity_account, cea21, 5_000)
    tx = services.surrender_execute(actor=entity_user, account=entity_account, instrument=cea21, quantity=4_200,
                                    compliance_year=2021, reference="obligation 2021")
    assert tx.status == TS.COMPLETED and tx.compliance_year == 2021
    surrender = services.national_account(kind=Account.Kind.NATIONAL_SURRENDER)
    assert selectors.balance(surrender, cea21).total == 4_200
    assert selectors.surrendered_for(account=entity_account, compliance_year=2021) == {"cea": 4_200, "ccer": 0}
    totals = {r["instrument"]: r for r in selectors.vintage_totals()}
    assert totals["CEA21"]["issued"] == 5_000 and totals["CEA21"]["surrendered"] == 4_200
    assert totals["CEA21"]["allocated"] == 5_000
    assert_ledger_sound()


def test_ccer_cancellation_and_voluntary_retirement(national, national2, entity_user, entity_account):
    ccer = services.instrument_create_ccer(project_ref="P1", vintage=2024)
    issue(ccer, 1_000, national, national2, to_account=entity_account)
    with pytest.raises(DomainError) as err:
        services.ccer_cancel(actor=entity_user, account=entity_account, instrument=ccer, quantity=10, purpose="")
    assert err.value.field == "purpose"
    tx = services.ccer_cancel(actor=entity_user, account=entity_account, instrument=ccer, quantity=300,
                              purpose="ets_offset", compliance_year=2023)
    assert tx.to_account.kind == Account.Kind.NATIONAL_CCER_CANCELLATION
    assert selectors.surrendered_for(account=entity_account, compliance_year=2023) == {"cea": 0, "ccer": 300}
    ret = services.voluntary_retire(actor=entity_user, account=entity_account, instrument=ccer, quantity=100,
                                    beneficiary="Asian Games 2023")
    assert ret.beneficiary == "Asian Games 2023"
    trace = selectors.serial_history(ccer, 350)
    assert [e["kind"] for e in trace["events"]] == ["issuance", "delivery", "voluntary_retirement"]
    assert trace["events"][2]["beneficiary"] == "Asian Games 2023"
    assert trace["held_in"] == str(Account.Kind.NATIONAL_VOLUNTARY_RETIREMENT.label)
    assert entity_account.number not in str(trace) and entity_account.name not in str(trace)
    assert_ledger_sound()


def test_reservation_settle_release_and_t_plus_1(fund, cea21, entity_user, other_entity_user, entity_account,
                                                 other_account):
    fund(entity_account, cea21, 1_000)
    res = services.units_reserve(actor=entity_user, account=entity_account, instrument=cea21, quantity=700,
                                 reference="order 1")
    assert selectors.balance(entity_account, cea21) == selectors.Balance(1_000, 300, 700, 0)
    with pytest.raises(DomainError) as err:
        services.transfer_create(actor=None, from_account=entity_account, to_account=other_account,
                                 instrument=cea21, quantity=301)
    assert err.value.code == "insufficient_units"
    tx = services.reservation_settle(reservation=res, to_account=other_account, quantity=500, reference="trade 9")
    assert tx.kind == "trade" and tx.status == TS.COMPLETED
    res.refresh_from_db()
    assert res.quantity == 200 and res.status == Reservation.Status.OPEN
    services.reservation_release(reservation=res)
    res.refresh_from_db()
    assert res.status == Reservation.Status.CLOSED
    assert selectors.balance(entity_account, cea21) == selectors.Balance(500, 500, 0, 0)
    today = timezone.localdate()
    assert selectors.units_bought_on(account=other_account, instrument=cea21, day=today) == 500
    with pytest.raises(DomainError) as err:
        services.units_reserve(actor=other_entity_user, account=other_account, instrument=cea21, quantity=1,
                               sellable_on=today)
    assert err.value.code == "insufficient_units"
    services.units_reserve(actor=other_entity_user, account=other_account, instrument=cea21, quantity=500,
                           sellable_on=today + dt.timedelta(days=1))
    assert_ledger_sound()


def test_freeze_and_unfreeze_are_four_eyes(national, national2, hubei, fund, cea21, entity_user, entity_account,
                                           other_account):
    fund(entity_account, cea21, 1_000)
    tx = services.freeze_propose(actor=hubei, account=entity_account, instrument=cea21, quantity=400,
                                 freeze_kind="judicial", reason="court order (2024) E 01")
    assert selectors.balance(entity_account, cea21).reserved == 400
    with pytest.raises(Forbidden):
        services.transaction_approve(actor=hubei, transaction=tx)
    tx = services.transaction_approve(actor=national, transaction=tx)
    assert selectors.balance(entity_account, cea21) == selectors.Balance(1_000, 600, 0, 400)
    with pytest.raises(DomainError):
        services.transfer_create(actor=None, from_account=entity_account, to_account=other_account,
                                 instrument=cea21, quantity=601)
    un = services.unfreeze_propose(actor=national, freeze=tx.freeze, reason="order lifted")
    services.transaction_approve(actor=national2, transaction=un)
    assert selectors.balance(entity_account, cea21) == selectors.Balance(1_000, 1_000, 0, 0)
    assert ranges(entity_account, cea21) == [(1, 1_000)]
    assert_ledger_sound()


def test_deduction_rejection_releases_and_approval_deletes(national, national2, hubei, fund, cea21, entity_account):
    fund(entity_account, cea21, 1_000)
    tx = services.deduction_propose(actor=hubei, account=entity_account, instrument=cea21, quantity=100,
                                    reason="Art. 24 shortfall 2021")
    rejected = services.transaction_reject(actor=national, transaction=tx, reason="figures wrong")
    assert rejected.status == TS.REJECTED
    assert selectors.balance(entity_account, cea21).available == 1_000
    tx = services.deduction_propose(actor=hubei, account=entity_account, instrument=cea21, quantity=100,
                                    reason="Art. 24 shortfall 2021")
    services.transaction_approve(actor=national2, transaction=tx)
    deletion = services.national_account(kind=Account.Kind.NATIONAL_DELETION)
    assert selectors.balance(deletion, cea21).total == 100
    assert selectors.balance(entity_account, cea21).total == 900
    assert_ledger_sound()


def test_reversal_once_by_a_second_regulator(national, national2, fund, cea21, entity_user, entity_account,
                                             other_account):
    fund(entity_account, cea21, 1_000)
    trust(entity_user, entity_account, other_account)
    tx = services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=250)
    rev = services.reversal_propose(actor=national, transaction=tx, reason="fraudulent instruction")
    with pytest.raises(Conflict):
        services.reversal_propose(actor=national2, transaction=tx, reason="again")
    rev = services.transaction_approve(actor=national2, transaction=rev)
    tx.refresh_from_db()
    assert rev.status == TS.COMPLETED and tx.status == TS.REVERSED
    assert ranges(entity_account, cea21) == [(1, 1_000)] and ranges(other_account, cea21) == []
    with pytest.raises(Conflict):
        services.reversal_propose(actor=national, transaction=tx, reason="third time")
    assert_ledger_sound()


def test_reversal_refused_when_units_moved_on(national, national2, fund, cea21, entity_account, other_account):
    fund(entity_account, cea21, 100)
    tx = services.transfer_create(actor=None, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=50)
    services.surrender_execute(actor=None, account=other_account, instrument=cea21, quantity=10,
                               compliance_year=2021)
    rev = services.reversal_propose(actor=national, transaction=tx, reason="error")
    with pytest.raises(Conflict) as err:
        services.transaction_approve(actor=national2, transaction=rev)
    assert err.value.code == "units_moved_on"
    assert selectors.balance(other_account, cea21).total == 40


def test_account_statuses(national, fund, cea21, entity_account, other_account, entity_user):
    fund(entity_account, cea21, 100)
    services.account_set_status(actor=national, account=other_account, status="partially_frozen",
                                comment="investigation")
    services.transfer_create(actor=None, from_account=entity_account, to_account=other_account, instrument=cea21,
                             quantity=10)
    with pytest.raises(Conflict) as err:
        services.transfer_create(actor=None, from_account=other_account, to_account=entity_account,
                                 instrument=cea21, quantity=1)
    assert err.value.field == "from_account"
    services.account_set_status(actor=national, account=entity_account, status="restricted", comment="compliance")
    entity_account.refresh_from_db()
    services.surrender_execute(actor=entity_user, account=entity_account, instrument=cea21, quantity=5,
                               compliance_year=2021)
    with pytest.raises(Conflict):
        services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                 instrument=cea21, quantity=1)
    with pytest.raises(DomainError) as err:
        services.account_set_status(actor=national, account=entity_account, status="open", comment="")
    assert err.value.field == "comment"
    with pytest.raises(Conflict) as err:
        services.account_close_propose(actor=national, account=entity_account, comment="leaving")
    assert err.value.code == "has_balance"


def test_account_opening_and_closing(national, hubei, guangdong, entity, entity_user):
    with pytest.raises(Forbidden):
        services.account_apply(actor=entity_user, kind="trading_participant", name="x",
                               organisation=f.OrganisationFactory())
    account = services.account_apply(actor=entity_user, kind="entity_holding", name="武汉示范 holding",
                                      entity=entity)
    assert account.status == "proposed" and account.number.startswith("CN-300-")
    with pytest.raises(Forbidden):
        services.account_approve_opening(actor=guangdong, account=account)
    account = services.account_approve_opening(actor=hubei, account=account)
    assert account.status == "open" and account.opened_at
    close(hubei, national, account, comment="merged into group account")
    account.refresh_from_db()
    assert account.status == "closed"
    assert services.account_for_entity(entity=entity, create=False) is None


BAD_QUANTITIES = [0, -5, 1.5, "2.5", "abc", 10**14, True]


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_bad_quantities_change_nothing(fund, cea21, entity_user, entity_account, other_account, quantity):
    fund(entity_account, cea21, 100)
    before = (Transaction.objects.count(), Block.objects.count(), list(Holding.objects.values_list("total")))
    with pytest.raises(DomainError) as err:
        services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                 instrument=cea21, quantity=quantity)
    assert err.value.field == "quantity" and err.value.code == "invalid_quantity"
    assert before == (Transaction.objects.count(), Block.objects.count(), list(Holding.objects.values_list("total")))


def test_bad_transfers_change_nothing(national, national2, fund, cea21, entity_user, entity_account,
                                      other_account):
    fund(entity_account, cea21, 100)
    cea22 = services.instrument_get_or_create_cea(vintage=2022)
    closed = services.account_for_entity(entity=f.EntityFactory())
    close(national, national2, closed, comment="gone")
    frozen = services.account_for_entity(entity=f.EntityFactory())
    services.account_set_status(actor=national, account=frozen, status="fully_frozen", comment="court")
    before = (Transaction.objects.count(), Block.objects.count(), Reservation.objects.count())
    cases = [
        (dict(to_account=closed), Conflict, "to_account", "account_not_open"),
        (dict(to_account=frozen), Conflict, "to_account", "account_not_open"),
        (dict(to_account=entity_account), DomainError, "to_account", "same_account"),
        (dict(to_account=None), DomainError, "to_account", "unknown_account"),
        (dict(instrument=cea22), DomainError, "instrument", "not_held"),
        (dict(quantity=101), DomainError, "quantity", "insufficient_units"),
    ]
    for override, error, field, code in cases:
        kwargs = dict(actor=entity_user, from_account=entity_account, to_account=other_account, instrument=cea21,
                      quantity=10) | override
        with pytest.raises(error) as err:
            services.transfer_create(**kwargs)
        assert (err.value.field, err.value.code) == (field, code), override
    with pytest.raises(DomainError) as err:
        selectors.account_by_number("CN-300-9999999")
    assert err.value.field == "to_account"
    assert before == (Transaction.objects.count(), Block.objects.count(), Reservation.objects.count())
    assert_ledger_sound()


def test_other_entity_user_cannot_move_units(fund, cea21, other_entity_user, entity_account, other_account):
    fund(entity_account, cea21, 100)
    for call in (
        lambda: services.transfer_create(actor=other_entity_user, from_account=entity_account,
                                         to_account=other_account, instrument=cea21, quantity=1),
        lambda: services.surrender_execute(actor=other_entity_user, account=entity_account, instrument=cea21,
                                           quantity=1, compliance_year=2021),
        lambda: services.units_reserve(actor=other_entity_user, account=entity_account, instrument=cea21,
                                       quantity=1),
    ):
        with pytest.raises(Forbidden):
            call()
    assert selectors.balance(entity_account, cea21).available == 100


def test_guangdong_cannot_freeze_hubei(guangdong, fund, cea21, entity_account):
    fund(entity_account, cea21, 100)
    with pytest.raises(Forbidden):
        services.freeze_propose(actor=guangdong, account=entity_account, instrument=cea21, quantity=1,
                                freeze_kind="judicial", reason="x")
    assert selectors.balance(entity_account, cea21).frozen == 0


def test_check_ledger_reports_tampering(fund, cea21, entity_account, capsys, on_postgres):
    fund(entity_account, cea21, 100)
    call_command("check_ledger")
    Holding.objects.filter(account=entity_account).update(total=101)
    Block.objects.create(instrument=cea21, account=entity_account, serial_start=200, serial_end=210)
    if not on_postgres:  # PostgreSQL refuses the overlap itself (test_exclusion_constraint_refuses_overlap)
        Block.objects.create(instrument=cea21, account=entity_account, serial_start=50, serial_end=60)
    with pytest.raises(SystemExit) as exit_:
        call_command("check_ledger")
    assert exit_.value.code == 1
    report = capsys.readouterr().err
    assert "cached total" in report and "issued 100" in report and "serials 1..210" in report
    assert on_postgres or "overlaps" in report


@pytest.mark.postgres
def test_exclusion_constraint_refuses_overlap(fund, cea21, entity_account, other_account):
    fund(entity_account, cea21, 100)
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        Block.objects.create(instrument=cea21, account=other_account, serial_start=100, serial_end=100)
    assert "registry_block_no_overlap" in str(err.value)


def test_instrument_rows_are_not_duplicated(db):
    for _ in range(3):
        services.instrument_get_or_create_cea(vintage=2023)
    assert Instrument.objects.filter(code="CEA23").count() == 1


def test_account_settings_refused_to_outsiders(other_entity_user, guangdong, entity_account, other_account):
    with pytest.raises(Forbidden):
        services.account_set_second_approval(actor=other_entity_user, account=entity_account, required=True)
    with pytest.raises(Forbidden):
        services.account_set_second_approval(actor=guangdong, account=entity_account, required=True)
    with pytest.raises(Forbidden):
        services.trusted_account_add(actor=other_entity_user, account=entity_account, trusted=other_account)
    entity_account.refresh_from_db()
    assert entity_account.requires_second_approval is False and not entity_account.trusted.exists()


def test_due_transfers_are_scheduled_and_the_task_runs(fund, cea21, entity_user, entity_account, other_account,
                                                       monkeypatch):
    from django_celery_beat.models import PeriodicTask

    from registry import tasks

    task = PeriodicTask.objects.get(name="registry: execute due delayed transfers")
    assert task.task == "registry.tasks.execute_due_transfers" and task.enabled
    fund(entity_account, cea21, 100)
    tx = services.transfer_create(actor=entity_user, from_account=entity_account, to_account=other_account,
                                  instrument=cea21, quantity=40)
    monkeypatch.setattr(services.timezone, "now", lambda: tx.not_before + dt.timedelta(minutes=1))
    assert tasks.execute_due_transfers.delay().get() == 1
    tx.refresh_from_db()
    assert tx.status == TS.COMPLETED and selectors.balance(other_account, cea21).total == 40
