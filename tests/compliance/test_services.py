"""Obligations, surrender (CEA and CCER), relief, closing, penalties and certificates, with real values."""

import datetime as dt
from decimal import Decimal

import pytest

from allowances.models import AllocationDeduction
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.models import Job
from compliance import selectors, services
from compliance.models import (
    Certificate,
    ComplianceCycle,
    FlexibleMechanism,
    Obligation,
    Penalty,
    ReliefDecision,
    SurrenderStep,
)
from registry import selectors as registry_selectors
from registry import services as registry
from registry.ledger import ledger_check
from registry.models import Transaction

from .conftest import BEFORE_DEADLINE, LATE

pytestmark = pytest.mark.django_db


def cea(vintage, quantity):
    return {"kind": "cea", "vintage": vintage, "quantity": quantity}


def counts():
    return (SurrenderStep.objects.count(), [(o.surrendered_tco2, o.offsets_tco2, o.on_time_tco2)
                                            for o in Obligation.objects.order_by("pk")])


def test_cycles_seeded_as_data():
    second = ComplianceCycle.objects.get(code="2021-2022")
    assert (second.first_year, second.last_year, second.deadline) == (2021, 2022, dt.date(2023, 12, 31))
    assert (second.milestone_date, second.milestone_pct, second.offset_cap_pct) == (
        dt.date(2023, 11, 15), Decimal("95.00"), Decimal("5.00"))
    assert list(second.vintages.filter(year=2021).values_list("vintage", flat=True)) == [2019, 2021]
    assert list(second.vintages.filter(year=2022).values_list("vintage", flat=True)) == [2019, 2021, 2022]
    first = ComplianceCycle.objects.get(code="2019-2020")
    assert first.deadline == dt.date(2021, 12, 31)
    assert set(ComplianceCycle.objects.values_list("code", flat=True)) == {"2019-2020", "2021-2022", "2023", "2024",
                                                                          "2025", "2026"}
    assert not second.vintages.filter(vintage__gt=dt.date(2021, 1, 1).year, year=2021).exists()


def test_obligations_from_confirmed_verified_emissions(obligations, entity, other_entity):
    ob = obligations[(entity.pk, 2021)]
    assert ob.verified_emissions_tco2 == 1_000_000  # 1,000,000.4 t rounds half-up to whole tonnes
    assert obligations[(entity.pk, 2022)].quantity_tco2 == 1_200_000  # 1,199,999.5 t rounds up
    assert obligations[(other_entity.pk, 2021)].quantity_tco2 == 500_000
    assert ob.remaining_tco2 == 1_000_000 and ob.status == "open"


def test_obligations_calculate_is_national_and_idempotent(cycle, obligations, hubei, national):
    with pytest.raises(Forbidden):
        services.obligations_calculate(actor=hubei, cycle=cycle, year=2021)
    again = services.obligations_calculate(actor=national, cycle=cycle, year=2021)
    assert again == {"year": 2021, "created": 0, "updated": 0, "unchanged": 2}
    with pytest.raises(DomainError) as exc:
        services.obligations_calculate(actor=national, cycle=cycle, year=2023)
    assert exc.value.field == "year"


def test_surrender_in_steps_each_a_registry_transaction(ob2021, entity, entity_user, give):
    account = give(entity, 2021, 800_000)
    give(entity, 2019, 300_000)
    steps = services.surrender(actor=entity_user, obligation=ob2021, items=[cea(2021, 600_000)],
                               on_date=BEFORE_DEADLINE)
    ob2021.refresh_from_db()
    assert ob2021.remaining_tco2 == 400_000
    steps += services.surrender(actor=entity_user, obligation=ob2021,
                                items=[cea(2019, 300_000), cea(2021, 100_000)], on_date=BEFORE_DEADLINE)
    ob2021.refresh_from_db()
    assert (ob2021.surrendered_tco2, ob2021.remaining_tco2, ob2021.completed_on) == (1_000_000, 0, BEFORE_DEADLINE)
    assert [s.instrument_code for s in steps] == ["CEA21", "CEA19-20", "CEA21"]
    cea21 = registry.instrument_get_or_create_cea(vintage=2021)
    assert registry_selectors.balance(account, cea21).total == 100_000
    assert registry_selectors.surrendered_for(account=account, compliance_year=2021) == {"cea": 1_000_000, "ccer": 0}
    assert len({s.registry_transaction_id for s in steps}) == 3
    assert ledger_check() == []


def test_later_vintage_refused_nothing_changed(ob2021, entity, entity_user, give):
    give(entity, 2022, 100_000)
    before = counts()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2021, items=[cea(2022, 10)], on_date=BEFORE_DEADLINE)
    assert (exc.value.code, exc.value.field) == ("later_vintage", "items[0].vintage")
    assert counts() == before


def test_more_than_owed_refused(ob2021, entity, entity_user, give):
    give(entity, 2021, 2_000_000)
    before = counts()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2021, items=[cea(2021, 1_000_001)],
                           on_date=BEFORE_DEADLINE)
    assert exc.value.code == "more_than_owed"
    assert counts() == before


def test_more_than_held_refused_by_registry(ob2021, entity, entity_user, give):
    give(entity, 2021, 10)
    before = counts()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2021, items=[cea(2021, 5), cea(2021, 6)],
                           on_date=BEFORE_DEADLINE)
    assert (exc.value.code, exc.value.field) == ("insufficient_units", "quantity")
    assert counts() == before  # the first item was rolled back with the second


@pytest.mark.parametrize("item,code,field", [
    ({"kind": "cea", "vintage": 2021, "quantity": 0}, "invalid_quantity", "items[0].quantity"),
    ({"kind": "cea", "vintage": 2021, "quantity": "1.5"}, "invalid_quantity", "items[0].quantity"),
    ({"kind": "cea", "vintage": "x", "quantity": 1}, "invalid_vintage", "items[0].vintage"),
    ({"kind": "cea", "vintage": 2018, "quantity": 1}, "vintage_not_eligible", "items[0].vintage"),
    ({"kind": "gold", "quantity": 1}, "invalid_kind", "items[0].kind"),
    ({"kind": "ccer", "quantity": 1}, "required", "items[0].instrument"),
])
def test_bad_items_name_field_and_rule(ob2021, entity_user, item, code, field):
    before = counts()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2021, items=[item], on_date=BEFORE_DEADLINE)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert counts() == before


def test_other_entity_cannot_surrender(ob2021, other_entity_user, hubei):
    for actor in (other_entity_user, hubei):
        with pytest.raises(NotFound):
            services.surrender(actor=actor, obligation=ob2021, items=[cea(2021, 1)], on_date=BEFORE_DEADLINE)


@pytest.fixture
def entity_ccers(issued, entity, owner_org):
    """The wind farm's 32,826 t of 2022 and 32,826 t of 2023 CCERs moved to the entity's account."""
    source = registry.account_for_organisation(organisation=owner_org, create=False)
    target = registry.account_for_entity(entity=entity)
    for issuance in issued:
        registry.transfer_create(actor=None, from_account=source, to_account=target,
                                 instrument=registry_selectors.instrument_get(issuance.instrument_code),
                                 quantity=issuance.quantity)
    return {i.vintage: i.instrument_code for i in issued}


def test_ccer_offsets_cancelled_through_voluntary_up_to_5_percent(ob2021, entity_user, entity_ccers):
    steps = services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                               items=[{"kind": "ccer", "instrument": entity_ccers[2022], "quantity": 32_826}])
    assert steps[0].credit_use_code.startswith("OC")
    before = counts()
    with pytest.raises(DomainError) as exc:  # cap: 5% of 1,000,000 t = 50,000 t
        services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                           items=[{"kind": "ccer", "instrument": entity_ccers[2023], "quantity": 17_175}])
    assert exc.value.code == "offset_cap_exceeded"
    assert counts() == before
    services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                       items=[{"kind": "ccer", "instrument": entity_ccers[2023], "quantity": 17_174}])
    ob2021.refresh_from_db()
    assert (ob2021.offsets_tco2, ob2021.remaining_tco2) == (50_000, 950_000)
    assert ledger_check() == []


def test_ccer_that_is_not_a_ccer_refused(ob2021, entity, entity_user, give):
    give(entity, 2021, 10)
    before = counts()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                           items=[{"kind": "ccer", "instrument": "CEA21", "quantity": 5}])
    assert exc.value.field == "instrument"
    assert counts() == before


def test_ccer_of_a_project_inside_the_ets_refused(ob2021, entity_user, entity_ccers, registered, entity):
    from entities.models import Unit

    # The wind farm turns out to be one of the entity's ETS units: its credits cannot offset.
    Unit.objects.create(entity=entity, code="HB-WIND-01", name="wind", rated_power_mw=registered.capacity,
                        main_fuel="other", commissioning_date=dt.date(2022, 1, 1))
    type(registered).objects.filter(pk=registered.pk).update(province_id=entity.province_id, site="HB-WIND-01")
    before = counts()
    with pytest.raises(DomainError) as exc:
        services.surrender(actor=entity_user, obligation=ob2021, on_date=BEFORE_DEADLINE,
                           items=[{"kind": "ccer", "instrument": entity_ccers[2022], "quantity": 100}])
    assert exc.value.code == "not_offset_eligible"
    assert counts() == before


def test_late_step_counts_but_not_on_time(ob2021, entity, entity_user, give):
    give(entity, 2021, 1_000_000)
    services.surrender(actor=entity_user, obligation=ob2021, items=[cea(2021, 900_000)], on_date=BEFORE_DEADLINE)
    services.surrender(actor=entity_user, obligation=ob2021, items=[cea(2021, 100_000)], on_date=LATE)
    ob2021.refresh_from_db()
    assert (ob2021.on_time_tco2, ob2021.covered_tco2) == (900_000, 1_000_000)
    assert services.outcome_status(ob2021) == Obligation.Status.COMPLIANT_LATE


def test_relief_four_eyes_lowers_obligation(ob2021, hubei, hubei2, guangdong, entity_user):
    with pytest.raises(Forbidden):
        services.relief_propose(actor=entity_user, obligation=ob2021, quantity=1000, reason="heat")
    with pytest.raises(NotFound):
        services.relief_propose(actor=guangdong, obligation=ob2021, quantity=1000, reason="heat")
    with pytest.raises(DomainError) as exc:
        services.relief_propose(actor=hubei, obligation=ob2021, quantity=1000, reason=" ")
    assert exc.value.field == "reason"
    decision = services.relief_propose(actor=hubei, obligation=ob2021, quantity=30_000,
                                       reason="Winter district heating for Wuhan")
    with pytest.raises(Forbidden):
        services.relief_decide(actor=hubei, decision=decision, approve=True)
    services.relief_decide(actor=hubei2, decision=decision, approve=True)
    ob2021.refresh_from_db()
    assert (ob2021.relief_tco2, ob2021.quantity_tco2, ob2021.verified_emissions_tco2) == (30_000, 970_000, 1_000_000)
    mech = FlexibleMechanism.objects.get(obligation=ob2021)
    assert (mech.kind, mech.quantity_tco2) == ("individual_relief", 30_000)
    assert ReliefDecision.objects.get().status == "approved"
    with pytest.raises(Conflict):
        services.relief_decide(actor=hubei2, decision=decision, approve=False)


@pytest.fixture
def close(django_capture_on_commit_callbacks):
    """``close(cycle, actor)``: start the closing job and run it as a worker would after the commit."""

    def _close(cycle, actor):
        with django_capture_on_commit_callbacks(execute=True):
            job = services.cycle_close(actor=actor, cycle=cycle)
        job.refresh_from_db()
        cycle.refresh_from_db()
        return job

    return _close


def test_close_outcomes_rates_and_certificates(cycle, obligations, entity, other_entity, entity_user, give, national,
                                               close):
    give(entity, 2021, 1_000_000)
    give(entity, 2022, 1_000_000)
    services.surrender(actor=entity_user, obligation=obligations[(entity.pk, 2021)], items=[cea(2021, 1_000_000)],
                       on_date=BEFORE_DEADLINE)
    services.surrender(actor=entity_user, obligation=obligations[(entity.pk, 2022)], items=[cea(2022, 1_000_000)],
                       on_date=BEFORE_DEADLINE)
    job = close(cycle, national)
    assert job.status == Job.Status.SUCCEEDED and job.done == 3
    assert cycle.status == "closed"
    status = {(o.entity_id, o.year): (o.status, o.shortfall_tco2) for o in cycle.obligations.all()}
    assert status == {(entity.pk, 2021): ("compliant", 0), (entity.pk, 2022): ("partially_compliant", 200_000),
                      (other_entity.pk, 2021): ("non_compliant", 500_000)}
    # 2021: 1,000,000 of 1,500,000 t on time; 2022: 1,000,000 of 1,200,000 t.
    assert selectors.compliance_rates(cycle) == {2021: Decimal("66.67"), 2022: Decimal("83.33")}
    assert job.result["rates"] == {"2021": "66.67", "2022": "83.33"}
    assert job.result["missing_obligations"] == {"2021": [], "2022": [other_entity.pk]}  # no 2022 verification
    assert Certificate.objects.count() == 1
    assert [o.entity_id for o in selectors.non_compliant(cycle)] == [entity.pk, other_entity.pk]
    with pytest.raises(Conflict) as exc:
        services.surrender(actor=entity_user, obligation=obligations[(entity.pk, 2022)], items=[cea(2022, 1)],
                           on_date=LATE)
    assert exc.value.code == "cycle_closed"
    with pytest.raises(Conflict):
        services.cycle_close(actor=national, cycle=cycle)


def test_only_national_closes(cycle, hubei, entity_user):
    for actor in (hubei, entity_user):
        with pytest.raises(Forbidden):
            services.cycle_close(actor=actor, cycle=cycle)
    cycle.refresh_from_db()
    assert cycle.status == "open"


def test_penalty_art24_and_deduction_four_eyes(cycle, obligations, other_entity, national, national2, guangdong,
                                               give, monkeypatch, close):
    close(cycle, national)
    ob = obligations[(other_entity.pk, 2021)]
    ob.refresh_from_db()
    monkeypatch.setattr(services, "market_average_price", lambda month: Decimal("70.25"))
    with pytest.raises(DomainError) as exc:
        services.penalty_propose(actor=guangdong, obligation=ob, multiplier="11")
    assert (exc.value.code, exc.value.field) == ("invalid_multiplier", "multiplier")
    penalty = services.penalty_propose(actor=guangdong, obligation=ob, multiplier="5")
    # 70.25 yuan x 500,000 t x 5
    assert (penalty.amount, penalty.price_month) == (Decimal("175625000.00"), dt.date(2023, 11, 1))
    with pytest.raises(Forbidden):
        services.penalty_decide(actor=guangdong, penalty=penalty)
    services.penalty_decide(actor=national, penalty=penalty)
    # decided before 2026-08-15: recorded for the next allocation run (no vintage withdrawn now)
    monkeypatch.setattr(services, "_today", lambda: dt.date(2024, 2, 1))
    deduction = services.penalty_deduction_propose(actor=guangdong, penalty=penalty)
    assert (deduction.entity, deduction.quantity_tco2, deduction.status, deduction.reference) == (
        other_entity, 500_000, "pending", f"penalty-{penalty.pk}")
    with pytest.raises(Conflict) as again:
        services.penalty_deduction_propose(actor=guangdong, penalty=penalty)
    assert again.value.code == "deduction_exists"
    assert not Transaction.objects.filter(kind="deduction").exists()
    assert selectors.cycle_report(cycle)["penalties_yuan"] == Decimal("175625000.00")
    assert ledger_check() == []


def test_no_new_deduction_decision_from_2026_08_15(cycle, obligations, other_entity, national, guangdong,
                                                    monkeypatch, close):
    close(cycle, national)
    ob = obligations[(other_entity.pk, 2021)]
    ob.refresh_from_db()
    monkeypatch.setattr(services, "market_average_price", lambda month: Decimal("70.25"))
    penalty = services.penalty_propose(actor=guangdong, obligation=ob, multiplier="5")
    services.penalty_decide(actor=national, penalty=penalty)
    monkeypatch.setattr(services, "_today", lambda: dt.date(2026, 8, 15))
    with pytest.raises(Conflict) as exc:
        services.penalty_deduction_propose(actor=guangdong, penalty=penalty)
    assert (exc.value.code, exc.value.field) == ("deduction_no_longer_decided", "penalty")
    assert not AllocationDeduction.objects.exists()
    penalty.refresh_from_db()
    assert (penalty.status, penalty.amount) == ("decided", Decimal("175625000.00"))  # the fine stays


def test_certificate_code_detects_tampering(cycle, ob2021, entity, entity_user, give, national, close):
    give(entity, 2021, 1_000_000)
    services.surrender(actor=entity_user, obligation=ob2021, items=[cea(2021, 1_000_000)], on_date=BEFORE_DEADLINE)
    close(cycle, national)
    cert = Certificate.objects.get(obligation=ob2021)
    assert selectors.certificate_verify(cert.code)["valid"] is True
    assert cert.content["obligation_tco2"] == 1_000_000
    content = dict(cert.content, cea_tco2=2_000_000)
    Certificate.objects.filter(pk=cert.pk).update(content=content)
    assert selectors.certificate_verify(cert.code) | {"certificate": None} == {
        "valid": False, "certificate": None, "content": None, "reason": "tampered"}
    assert selectors.certificate_verify("NOPE")["reason"] == "unknown"


def test_penalty_without_market_prices_needs_the_regulators_price(cycle, obligations, other_entity, guangdong,
                                                                  national, close, monkeypatch):
    close(cycle, national)
    ob = Obligation.objects.get(pk=obligations[(other_entity.pk, 2021)].pk)
    monkeypatch.setattr(services, "market_average_price", lambda month: None)
    with pytest.raises(DomainError) as exc:
        services.penalty_propose(actor=guangdong, obligation=ob, multiplier="6")
    assert (exc.value.code, exc.value.field) == ("no_market_price", "average_price")
    with pytest.raises(DomainError) as exc:
        services.penalty_propose(actor=guangdong, obligation=ob, multiplier="6", average_price="-1")
    assert exc.value.field == "average_price"
    assert Penalty.objects.count() == 0
    penalty = services.penalty_propose(actor=guangdong, obligation=ob, multiplier="6", average_price="65.5")
    assert penalty.amount == Decimal("196500000.00")  # 65.50 x 500,000 x 6
    with pytest.raises(Conflict):
        services.penalty_propose(actor=guangdong, obligation=ob, multiplier="6", average_price="65.5")


def test_cycle_update_national_only_audited_and_checked(cycle, national, hubei):
    from cets.common.models import AuditEntry

    with pytest.raises(Forbidden):
        services.cycle_update(actor=hubei, cycle=cycle, deadline=dt.date(2024, 1, 31))
    with pytest.raises(DomainError) as exc:
        services.cycle_update(actor=national, cycle=cycle, first_year=2020)
    assert exc.value.field == "first_year"
    with pytest.raises(DomainError) as exc:
        services.cycle_update(actor=national, cycle=cycle, deadline=dt.date(2023, 11, 1))  # before the milestone
    assert exc.value.code == "invalid"
    with pytest.raises(DomainError) as exc:
        services.cycle_update(actor=national, cycle=cycle, warning_horizons=[90, "soon"])
    assert exc.value.field == "warning_horizons"
    updated = services.cycle_update(actor=national, cycle=cycle, deadline=dt.date(2024, 1, 31),
                                    warning_horizons=[60, 14])
    assert (updated.deadline, updated.warning_horizons) == (dt.date(2024, 1, 31), [60, 14])
    entry = AuditEntry.objects.filter(action="compliance.cycle_update").get()
    assert entry.before["deadline"] == "2023-12-31" and entry.after["deadline"] == "2024-01-31"


def test_plan_relief_and_borrowing_recorded_and_counted(cycle, entity, other_entity, national, monkeypatch):
    from allowances import selectors as allowances_selectors

    from .conftest import confirm

    real = allowances_selectors.allocations_for

    def allocations_for(entity_ids, year):
        figures = real(entity_ids, year)
        figures[entity.pk].update(allocation_tco2=900_000, relief_tco2=20_000, borrowed_tco2=50_000)
        return figures

    monkeypatch.setattr(allowances_selectors, "allocations_for", allocations_for)
    confirm(entity, 2021, "1000000")
    confirm(other_entity, 2021, "400000")
    services.obligations_calculate(actor=national, cycle=cycle, year=2021)
    ob = Obligation.objects.get(entity=entity, year=2021)
    assert (ob.allocation_tco2, ob.plan_relief_tco2, ob.borrowed_tco2, ob.quantity_tco2) == (
        900_000, 20_000, 50_000, 1_000_000)  # relief and borrowing arrive as allowances, not as a smaller duty
    assert sorted(FlexibleMechanism.objects.values_list("kind", "quantity_tco2")) == [
        ("borrowing", 50_000), ("plan_relief", 20_000)]
    report = selectors.cycle_report(cycle)
    assert (report["entities_helped"], report["mechanisms"]["borrowing"], report["mechanisms"]["plan_relief"]) == (
        1, 1, 1)
    year = report["years"][2021]
    assert (year["allocated_tco2"], year["verified_tco2"], year["surplus_tco2"]) == (900_000, 1_400_000, -500_000)
    assert year["surplus_share_pct"] == Decimal("-55.56")
