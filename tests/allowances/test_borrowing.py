"""Borrowing (2021-22 plans): apply when short by more than 10%, up to 50%, province approves (eligibility),
a national regulator approves the issuance of the next vintage to the entity, deducted from the next
allocation; through the services and the API."""

import pytest

from allowances import services
from allowances.models import BorrowingApplication, EntityAllocation
from cets.common.errors import Conflict, DomainError, Forbidden
from cets.common.models import AuditEntry
from registry import selectors as registry_selectors
from registry import services as registry
from registry.ledger import ledger_check
from registry.models import Transaction

from .conftest import verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def trued_up_2021(national, national2, entity, other_entity, django_capture_on_commit_callbacks):
    # entity: I 1,000,000 MWh x 0.8218 = 821,800; II 500,000 x 0.8773 = 438,650 -> 1,260,450
    # vs verified 1,500,000 (floor 1,200,000: no relief): short 239,550 > 10% -> may borrow 119,775
    verify(entity, 2021, {"HB-WH-01": {"electricity_supplied_mwh": 1_000_000, "load_factor": "0.9",
                                       "emissions_tco2": 900_000},
                          "HB-WH-02": {"electricity_supplied_mwh": 500_000, "load_factor": "0.9",
                                       "emissions_tco2": 600_000}})
    verify(other_entity, 2021, {"GD-GZ-01": {"electricity_supplied_mwh": 1_000_000, "load_factor": "0.9",
                                             "emissions_tco2": 800_000}})
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(actor=national, year=2021, kind="true_up")
    with django_capture_on_commit_callbacks(execute=True):
        services.run_approve(actor=national2, run=run)
    return run


def test_borrow_approve_and_deduct_from_next_pre_allocation(api, entity_user, hubei, guangdong, national, national2,
                                                             entity, trued_up_2021,
                                                             django_capture_on_commit_callbacks):
    assert EntityAllocation.objects.get(run=trued_up_2021, entity=entity).allocation_tco2 == 1_260_450
    too_much = api(entity_user).post("/api/v1/allowances/borrowings/", {"year": 2021, "requested_tco2": 119_776},
                                     format="json")
    assert too_much.status_code == 400 and too_much.json()["error"]["field"] == "requested_tco2"
    assert BorrowingApplication.objects.count() == 0
    response = api(entity_user).post("/api/v1/allowances/borrowings/", {"year": 2021, "requested_tco2": 100_000},
                                     format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["shortfall_tco2"], body["status"]) == (239_550, "submitted")
    pk = body["id"]
    assert api(guangdong).post(f"/api/v1/allowances/borrowings/{pk}/decide/", {"approve": True},
                               format="json").status_code == 404
    assert api(entity_user).post(f"/api/v1/allowances/borrowings/{pk}/decide/", {"approve": True},
                                 format="json").status_code == 403
    assert api(hubei).post(f"/api/v1/allowances/borrowings/{pk}/decide/", {"approve": True},
                           format="json").json()["status"] == "approved"

    # 2022 plan pre-allocation = 70% x 2021 supply x 2022 benchmark:
    # 0.7 x (1,000,000 x 0.8177) = 572,390; 0.7 x (500,000 x 0.8729) = 305,515 -> 877,905; minus 100,000 borrowed
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(actor=national, year=2022, kind="pre_allocation")
    with django_capture_on_commit_callbacks(execute=True):
        services.run_approve(actor=national2, run=run)
    ea = EntityAllocation.objects.get(run=run, entity=entity)
    assert (ea.allocation_tco2, ea.borrowing_deduction_tco2, ea.difference_tco2) == (877_905, 100_000, 777_905)
    account = registry.account_for_entity(entity=entity)
    assert registry_selectors.balance(account, registry.instrument_get_or_create_cea(vintage=2022)).total == 777_905
    application = BorrowingApplication.objects.get(pk=pk)
    assert application.status == "deducted" and application.deducted_in == ea


def test_borrowing_refused_when_shortfall_small_or_plan_forbids(entity_user, entity, other_entity_user,
                                                                other_entity, trued_up_2021):
    with pytest.raises(DomainError) as exc:  # 821,800 allocated vs 800,000 emitted: no shortfall
        services.borrowing_apply(actor=other_entity_user, entity=other_entity, year=2021, requested_tco2=1)
    assert exc.value.code == "shortfall_too_small"
    with pytest.raises(DomainError) as exc:
        services.borrowing_apply(actor=entity_user, entity=entity, year=2023, requested_tco2=1)
    assert exc.value.code == "borrowing_not_allowed"
    with pytest.raises(Forbidden):
        services.borrowing_apply(actor=other_entity_user, entity=entity, year=2021, requested_tco2=1)
    assert BorrowingApplication.objects.count() == 0


def test_borrowing_list_is_scoped(api, entity_user, other_entity_user, hubei, guangdong, entity, trued_up_2021):
    api(entity_user).post("/api/v1/allowances/borrowings/", {"year": 2021, "requested_tco2": 10},
                          format="json")
    assert api(entity_user).get("/api/v1/allowances/borrowings/").json()["count"] == 1
    assert api(hubei).get("/api/v1/allowances/borrowings/").json()["count"] == 1
    assert api(other_entity_user).get("/api/v1/allowances/borrowings/").json()["count"] == 0
    assert api(guangdong).get("/api/v1/allowances/borrowings/").json()["count"] == 0


def test_approved_borrowing_is_issued_next_vintage_by_a_national_regulator(
        entity_user, hubei, national, national2, entity, trued_up_2021, django_capture_on_commit_callbacks):
    application = services.borrowing_apply(actor=entity_user, entity=entity, year=2021, requested_tco2=100_000)
    assert Transaction.objects.filter(kind="issuance", reference__startswith="allowances-borrowing").count() == 0
    services.borrowing_decide(actor=hubei, application=application, approve=True)

    # the province's approval creates the issuance proposal of CEA22 into the entity's account ...
    proposal = Transaction.objects.get(pk=int(application.issuance_reference))
    account = registry.account_for_entity(entity=entity)
    cea22 = registry.instrument_get_or_create_cea(vintage=2022)
    assert (proposal.kind, proposal.status, proposal.instrument, proposal.quantity, proposal.deliver_to,
            proposal.proposed_by) == ("issuance", "awaiting_approval", cea22, 100_000, account, None)
    assert proposal.reference == f"allowances-borrowing-{application.pk}"
    assert registry_selectors.balance(account, cea22).total == 0
    assert proposal in registry_selectors.approval_queue(national)
    # ... which only the Ministry may approve
    with pytest.raises(Forbidden):
        registry.transaction_approve(actor=hubei, transaction=proposal)
    registry.transaction_approve(actor=national, transaction=proposal)
    assert registry_selectors.balance(account, cea22).total == 100_000
    assert AuditEntry.objects.filter(action="borrowing.decide", object_id=str(application.pk)).get().after[
        "issuance_proposal"] == proposal.pk

    # the 2022 pre-allocation deducts what was borrowed: 877,905 - 100,000 = 777,905 more
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(actor=national, year=2022, kind="pre_allocation")
    with django_capture_on_commit_callbacks(execute=True):
        services.run_approve(actor=national2, run=run)
    assert registry_selectors.balance(account, cea22).total == 100_000 + 777_905
    assert ledger_check() == []


def test_rejected_borrowing_issues_nothing_and_a_frozen_account_refuses_the_approval(
        entity_user, hubei, national, entity, trued_up_2021):
    application = services.borrowing_apply(actor=entity_user, entity=entity, year=2021, requested_tco2=50_000)
    registry.account_set_status(actor=national, account=registry.account_for_entity(entity=entity),
                                status="fully_frozen", comment="court order")
    with pytest.raises(Conflict):
        services.borrowing_decide(actor=hubei, application=application, approve=True)
    application.refresh_from_db()
    assert (application.status, application.issuance_reference) == ("submitted", "")
    assert not Transaction.objects.filter(kind="issuance", reference__startswith="allowances-borrowing").exists()
    services.borrowing_decide(actor=hubei, application=application, approve=False)
    application.refresh_from_db()
    assert (application.status, application.issuance_reference) == ("rejected", "")
    assert not Transaction.objects.filter(kind="issuance", reference__startswith="allowances-borrowing").exists()
