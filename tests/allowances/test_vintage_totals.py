"""Never above the plan's total for the vintage (issue 14, point 7): approved runs and borrowings raise the
vintage's determined total and the registry caps issuance at it, whichever door proposes."""

import pytest

from allowances import services
from allowances.models import AllocationRun, BorrowingApplication, EntityAllocation, VintageTotal, VintageTotalEntry
from allowances.vintage_totals import vintage_total
from cets.common.errors import DomainError
from registry import services as registry
from registry.ledger import ledger_check
from registry.models import Instrument, Transaction
from tests import factories as f
from tests.registry.test_concurrency import race

from .conftest import verify
from .test_borrowing import trued_up_2021  # noqa: F401
from .test_runs import data_2022, start_and_approve  # noqa: F401

pytestmark = pytest.mark.django_db


def cea(vintage: int) -> Instrument:
    return Instrument.objects.get(pk=registry.instrument_get_or_create_cea(vintage=vintage).pk)


def determined(vintage: int) -> int:
    """The total from the allocation process's own records: approved runs' top-ups plus approved borrowing."""
    runs = sum(ea.difference_tco2 for ea in EntityAllocation.objects.filter(
        run__year=vintage, run__status__in=["issuing", "completed"], difference_tco2__gt=0))
    borrowed = sum(a.requested_tco2 for a in BorrowingApplication.objects.filter(
        year=vintage - 1, status__in=["approved", "deducted"]))
    return runs + borrowed


@pytest.fixture
def pre_2023(national, national2, data_2022, django_capture_on_commit_callbacks):  # noqa: F811
    return start_and_approve(national, national2, 2023, "pre_allocation", django_capture_on_commit_callbacks)


def test_an_approved_run_sets_the_cap_to_what_it_issues(pre_2023):
    cea23 = cea(2023)
    assert (pre_2023.status, cea23.issued, cea23.issuance_cap) == ("completed", 6_300_000, 6_300_000)
    assert vintage_total(2023) == determined(2023) == 6_300_000
    (entry,) = VintageTotalEntry.objects.filter(total__vintage=2023)
    assert (entry.source, entry.quantity_tco2, entry.reference) == (
        "pre_allocation", 6_300_000, f"allowances-run-{pre_2023.pk}")


def test_an_issuance_above_the_plan_total_is_refused_by_the_service_and_changes_nothing(pre_2023, national):
    count = Transaction.objects.count()
    with pytest.raises(DomainError) as exc:
        registry.issuance_propose(actor=national, instrument=cea(2023), quantity=1)
    assert (exc.value.code, exc.value.field) == ("above_plan_total", "quantity")
    assert "6,300,000" in exc.value.message
    assert Transaction.objects.count() == count and cea(2023).issued == 6_300_000


def test_an_issuance_above_the_plan_total_is_refused_by_the_api(api, pre_2023, national, hubei, entity_user):
    count = Transaction.objects.count()
    body = {"instrument": "CEA23", "quantity": 5_000, "reason": "manual top-up"}
    response = api(national, otp=True).post("/api/v1/registry/issuances/", body, format="json")
    assert response.status_code == 400, response.content
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("above_plan_total", "quantity")
    # a province or an entity may not propose issuances at all
    assert api(hubei, otp=True).post("/api/v1/registry/issuances/", body, format="json").status_code == 403
    assert api(entity_user).post("/api/v1/registry/issuances/", body, format="json").status_code == 403
    assert Transaction.objects.count() == count and cea(2023).issued == 6_300_000


def test_within_the_plan_total_the_api_proposes_four_eyes(api, national, national2):
    services.vintage_total_add(actor=national, vintage=2026, source="carry_over", quantity=50_000,
                               reference="carry-over-test")
    response = api(national, otp=True).post("/api/v1/registry/issuances/",
                                            {"instrument": "CEA26", "quantity": 50_000, "reason": "carry-over"},
                                            format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["quantity"]) == ("awaiting_approval", 50_000)
    registry.transaction_approve(actor=national2, transaction=Transaction.objects.get(pk=response.json()["id"]))
    assert (cea(2026).issued, cea(2026).issuance_cap) == (50_000, 50_000)


def test_the_true_up_raises_the_total_by_its_top_ups_only(pre_2023, national, national2, entity, other_entity,
                                                          django_capture_on_commit_callbacks):
    verify(entity, 2023, {"HB-WH-01": {"electricity_generated_mwh": 5_000_000, "load_factor": "0.70",
                                       "emissions_tco2": 4_000_000},
                          "HB-WH-02": {"emissions_tco2": 900_000}})
    verify(other_entity, 2023, {"GD-GZ-01": {"electricity_generated_mwh": 1_000_000, "load_factor": "0.70",
                                             "emissions_tco2": 900_000}})
    run = start_and_approve(national, national2, 2023, "true_up", django_capture_on_commit_callbacks)
    top_ups = sum(ea.difference_tco2 for ea in run.entities.all() if ea.difference_tco2 > 0)
    assert top_ups > 0 and run.status == AllocationRun.Status.COMPLETED
    assert vintage_total(2023) == determined(2023) == 6_300_000 + top_ups
    assert (cea(2023).issued, cea(2023).issuance_cap) == (6_300_000 + top_ups, 6_300_000 + top_ups)
    assert ledger_check() == []


def test_borrowing_raises_the_next_vintage_and_is_still_issued(national, national2, hubei, entity, entity_user,
                                                               trued_up_2021, django_capture_on_commit_callbacks):  # noqa: F811
    application = services.borrowing_apply(actor=entity_user, entity=entity, year=2021, requested_tco2=100_000)
    application = services.borrowing_decide(actor=hubei, application=application, approve=True)
    assert (vintage_total(2022), cea(2022).issuance_cap) == (100_000, 100_000)
    proposal = Transaction.objects.get(pk=int(application.issuance_reference))
    registry.transaction_approve(actor=national2, transaction=proposal)
    assert cea(2022).issued == 100_000
    # nothing more of CEA22 until the 2022 runs are approved
    with pytest.raises(DomainError) as exc:
        registry.issuance_propose(actor=national, instrument=cea(2022), quantity=1)
    assert exc.value.code == "above_plan_total"
    # the 2022 pre-allocation (borrowing deducted) raises it by what it issues; both are issued in full
    verify(entity, 2022, {"HB-WH-01": {"emissions_tco2": 1_000_000}, "HB-WH-02": {"emissions_tco2": 500_000}})
    run = start_and_approve(national, national2, 2022, "pre_allocation", django_capture_on_commit_callbacks)
    assert vintage_total(2022) == determined(2022) == 100_000 + run.total_tco2 - 100_000
    assert cea(2022).issued == cea(2022).issuance_cap == vintage_total(2022)
    assert ledger_check() == []


def test_a_repeated_reference_adds_nothing_and_bad_input_is_refused(national):
    services.vintage_total_add(actor=national, vintage=2025, source="carry_over", quantity=10, reference="co-1")
    services.vintage_total_add(actor=national, vintage=2025, source="carry_over", quantity=10, reference="co-1")
    assert (vintage_total(2025), cea(2025).issuance_cap) == (10, 10)
    for kwargs, field in (({"quantity": 0}, "quantity"), ({"quantity": 2.5}, "quantity"),
                          ({"source": "gift"}, "source")):
        with pytest.raises(DomainError) as exc:
            services.vintage_total_add(**{"actor": national, "vintage": 2025, "source": "carry_over",
                                          "quantity": 5, "reference": "co-2", **kwargs})
        assert exc.value.field == field
    assert VintageTotal.objects.get(vintage=2025).total_tco2 == 10


def test_a_total_below_what_was_issued_outside_the_plan_is_refused(national, national2):
    proposal = registry.issuance_propose(actor=national, instrument=cea(2027), quantity=1_000)
    registry.transaction_approve(actor=national2, transaction=proposal)
    with pytest.raises(DomainError) as exc:
        services.vintage_total_add(actor=national, vintage=2027, source="carry_over", quantity=999, reference="x")
    assert exc.value.code == "below_issued"
    assert not VintageTotalEntry.objects.filter(reference="x").exists() and cea(2027).issuance_cap is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_proposals_cannot_together_exceed_the_plan_total(national, national2):
    """Two proposals of 600,000 to different destinations against a total of 1,000,000: exactly one passes."""
    services.vintage_total_add(actor=national, vintage=2025, source="carry_over", quantity=1_000_000,
                               reference="race")
    destinations = [None, registry.account_for_entity(entity=f.EntityFactory())]
    results = race(2, lambda i: registry.issuance_propose(actor=national, instrument=cea(2025), quantity=600_000,
                                                          deliver_to=destinations[i]))
    done = [r for r in results if isinstance(r, Transaction)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(done) == 1 and [r.code for r in refused] == ["above_plan_total"]
    registry.transaction_approve(actor=national2, transaction=done[0])
    assert (cea(2025).issued, cea(2025).issuance_cap) == (600_000, 1_000_000)
    assert ledger_check() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_determinations_of_one_vintage_add_up(national):
    """Four determinations of CEA25 at once: the total and the cap are their sum, never a stale one."""
    results = race(4, lambda i: services.vintage_total_add(actor=national, vintage=2025, source="carry_over",
                                                           quantity=1_000 * (i + 1), reference=f"co-race-{i}"))
    assert all(isinstance(r, VintageTotal) for r in results), results
    assert (vintage_total(2025), cea(2025).issuance_cap) == (10_000, 10_000)
    assert VintageTotalEntry.objects.filter(total__vintage=2025).count() == 4
