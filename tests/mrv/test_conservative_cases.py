"""Issue 5 point 5: an annual report missing at its deadline opens a conservative-determination case by itself."""

import datetime as dt
from decimal import Decimal

import pytest
from django_celery_beat.models import PeriodicTask

from cets.common.errors import Conflict
from entities.models import AgencyAssignment, KeyEntity
from mrv import deadlines, determinations, tasks, verifications
from mrv.models import AnnualReport, Verification
from tests import factories as f

from .conftest import signed_report
from .test_oversight import VALUES

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(entity, other_entity, other_entity_user, agency, hubei):
    """entity: agency assigned, no report; other_entity: report submitted; neighbour: nothing at all;
    newcomer (included 2024) and suspended: not due."""
    AgencyAssignment.objects.create(year=2023, entity=entity, agency=agency, assigned_by=hubei)
    Verification.objects.create(entity=entity, year=2023, agency=agency)  # agency started, nothing to verify
    AnnualReport.objects.create(entity=other_entity, year=2023, status=AnnualReport.Status.SUBMITTED,
                                emissions_tco2=Decimal("1200000"), due_date=dt.date(2024, 3, 31),
                                compiled_by=other_entity_user)
    return {"neighbour": f.EntityFactory(name="宜昌测试电厂", province=entity.province),
            "newcomer": f.EntityFactory(inclusion_year=2024),
            "suspended": f.EntityFactory(status=KeyEntity.Status.SUSPENDED)}


def test_deadline_comes_from_the_calendar():
    assert determinations.annual_report_deadline(2023) == dt.date(2024, 4, 1)  # 2024-03-31 is a Sunday
    assert determinations.annual_report_deadline(2024) == dt.date(2025, 3, 31)  # a Monday


def test_cases_open_the_day_after_the_deadline_once(cast, entity, other_entity, verifier):
    assert determinations.conservative_cases_open(today=dt.date(2024, 4, 1)) == []
    assert not Verification.objects.filter(status=Verification.Status.DETERMINATION_OPEN).exists()
    opened = determinations.conservative_cases_open(today=dt.date(2024, 4, 2))
    assert opened == sorted([entity.pk, cast["neighbour"].pk])
    cases = Verification.objects.filter(year=2023, status=Verification.Status.DETERMINATION_OPEN)
    assert sorted(cases.values_list("entity_id", flat=True)) == opened
    case = cases.get(entity=entity)
    assert case.is_conservative and case.verified_emissions_tco2 is None and case.determined_by is None
    assert case.conservative_reason == "Annual emission report 2023 missing at its deadline 2024-04-01."
    assert deadlines.next_step(case) == {"who": "provincial_regulator", "by": dt.date(2024, 6, 30)}
    assert not Verification.objects.filter(entity=other_entity).exists()
    assert determinations.conservative_cases_open(today=dt.date(2024, 4, 3)) == []
    assert Verification.objects.count() == 2
    with pytest.raises(Conflict) as exc:
        verifications.verification_submit(**signed_report(),
                                          actor=verifier, entity=entity, year=2023, unit_values=VALUES)
    assert exc.value.code == "determination_in_progress"
    assert Verification.objects.get(entity=entity).status == Verification.Status.DETERMINATION_OPEN


def test_case_is_decided_by_the_manual_path(cast, entity, hubei):
    determinations.conservative_cases_open(today=dt.date(2024, 4, 2))
    second = f.regulator("provincial_regulator", province_code="42", username="hubei-2")
    case = determinations.verification_determine(actor=hubei, entity=entity, year=2023, unit_values=VALUES,
                                                 reason="No annual report; highest monthly intensity applied")
    assert case.status == Verification.Status.DETERMINATION_PENDING
    case = determinations.verification_determination_approve(actor=second, verification=case, today=dt.date(2024, 5, 6))
    assert case.status == Verification.Status.CONFIRMED and case.verified_emissions_tco2 == Decimal("4600000.600")


def test_periodic_task_is_scheduled_and_runs(cast, entity, monkeypatch):
    assert PeriodicTask.objects.filter(task="mrv.conservative_cases", enabled=True).exists()
    monkeypatch.setattr(determinations, "local_today", lambda: dt.date(2024, 4, 2))
    assert tasks.conservative_cases_task() == 2
    assert tasks.conservative_cases_task() == 0


def _late_report(entity, entity_user, units):
    from mrv import services

    from .conftest import month_row

    services.submissions_bulk_load(actor=entity_user, rows=[month_row(u, month=m, year=2023)
                                                            for u in units for m in range(1, 13)])
    report = services.annual_report_compile(actor=entity_user, entity=entity, year=2023)
    return services.annual_report_submit(actor=entity_user, report=report)


def test_a_late_report_closes_the_open_case_and_the_agency_verifies(cast, entity, entity_user, unit, chp_unit,
                                                                    verifier):
    determinations.conservative_cases_open(today=dt.date(2024, 4, 2))
    _late_report(entity, entity_user, (unit, chp_unit))
    case = Verification.objects.get(entity=entity, year=2023)
    assert (case.status, case.is_conservative, case.conservative_reason) == ("in_progress", False, "")
    assert case.agency == verifier.organisation
    verification = verifications.verification_submit(**signed_report(),
                                                     actor=verifier, entity=entity, year=2023, unit_values=VALUES)
    assert verification.status == Verification.Status.SUBMITTED
    assert Verification.objects.get(entity=cast["neighbour"]).status == Verification.Status.DETERMINATION_OPEN


def test_once_figures_are_proposed_a_late_report_does_not_stop_the_determination(cast, entity, entity_user, unit,
                                                                                 chp_unit, hubei):
    determinations.conservative_cases_open(today=dt.date(2024, 4, 2))
    determinations.verification_determine(actor=hubei, entity=entity, year=2023, unit_values=VALUES,
                                          reason="No annual report; highest monthly intensity applied")
    _late_report(entity, entity_user, (unit, chp_unit))
    case = Verification.objects.get(entity=entity, year=2023)
    assert (case.status, case.is_conservative) == (Verification.Status.DETERMINATION_PENDING, True)
