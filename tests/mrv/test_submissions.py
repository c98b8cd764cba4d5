"""Monthly submissions: versions, deadlines, the accounting stored with them, and bad input refused."""

import datetime as dt
from decimal import Decimal

import pytest

from cets.common.errors import Conflict, DomainError
from cets.common.models import AuditEntry
from mrv import services
from mrv.models import FuelRecord, MonthlySubmission

from .conftest import month_row

pytestmark = pytest.mark.django_db


def submit(actor, row, **kw):
    row = dict(row)
    return services.submission_submit(actor=actor, unit=row.pop("unit"), year=row.pop("year"),
                                      month=row.pop("month"), fuels=row.pop("fuels"), **row, **kw)


def test_submit_computes_emissions_deadline_and_on_time(entity_user, unit, wuhan):
    sub = submit(entity_user, month_row(unit, month=4), today=dt.date(2024, 6, 9))
    assert sub.version == 1 and sub.is_current
    assert sub.emissions_tco2 == Decimal("2341.393")
    assert sub.deadline == dt.date(2024, 6, 9)  # April 30 + 40 natural days
    assert sub.on_time is True
    assert sub.status == MonthlySubmission.Status.MUNICIPAL_REVIEW
    assert sub.fuels.get().emissions_tco2 == Decimal("2341.393")
    assert AuditEntry.objects.filter(action="mrv.submission.submit").count() == 1


def test_resubmission_is_a_new_version_and_history_is_kept(entity_user, unit):
    first = submit(entity_user, month_row(unit), today=dt.date(2024, 6, 1))
    second = submit(entity_user, month_row(unit, fuels=[{"fuel": "bituminous", "consumption": "1100",
                                                          "ncv": "20.908"}]), today=dt.date(2024, 6, 20))
    first.refresh_from_db()
    assert (first.version, first.is_current, first.status) == (1, False, MonthlySubmission.Status.SUPERSEDED)
    assert (second.version, second.is_current, second.on_time) == (2, True, False)
    assert MonthlySubmission.objects.filter(unit=unit, year=2024, month=4).count() == 2


def test_measured_carbon_with_report(entity_user, unit, report):
    sub = submit(entity_user, month_row(unit, fuels=[{"fuel": "bituminous", "consumption": "1000",
                                                      "carbon_content": "0.6", "test_report": report.number}]))
    assert sub.emissions_tco2 == Decimal("2178.000")
    assert sub.fuels.get().test_report == report


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"month": 13}, "month", "out_of_range"),
    ({"year": 2099, "month": 1}, "month", "month_in_future"),
    ({"fuels": [{"fuel": "bituminous", "consumption": "-5", "ncv": "20"}]}, "fuels[0].consumption", "negative"),
    ({"fuels": [{"fuel": "bituminous", "consumption": "5", "carbon_content": "0.6"}]}, "fuels[0].carbon_content",
     "test_report_required"),
    ({"fuels": [{"fuel": "bituminous", "consumption": "5", "ncv": "20", "oxidation_rate": "1.02"}]},
     "fuels[0].oxidation_rate", "out_of_range"),
    ({"load_factor": "82"}, "load_factor", "out_of_range"),
    ({"electricity_generated_mwh": "lots"}, "electricity_generated_mwh", "invalid_number"),
    ({"electricity_supplied_mwh": "400000"}, "electricity_supplied_mwh", "supplied_above_generated"),
])
def test_bad_input_names_field_and_rule_and_changes_nothing(entity_user, unit, change, field, code):
    with pytest.raises(services.InvalidRows) as exc:
        submit(entity_user, month_row(unit, **change))
    assert (exc.value.problems[0].field, exc.value.problems[0].code) == (field, code)
    assert MonthlySubmission.objects.count() == 0 and FuelRecord.objects.count() == 0


def test_other_entity_unit_refused(other_entity_user, unit):
    with pytest.raises(services.InvalidRows) as exc:
        submit(other_entity_user, month_row(unit))
    assert exc.value.problems[0].code == "unknown_unit"
    assert MonthlySubmission.objects.count() == 0


def test_regulator_cannot_submit_for_entity(hubei, unit):
    with pytest.raises(services.InvalidRows):
        submit(hubei, month_row(unit))


def test_bulk_load_all_or_nothing(entity_user, unit, chp_unit):
    rows = [month_row(unit, month=m) for m in (1, 2, 3)] + [month_row(chp_unit, month=1, load_factor="2")]
    with pytest.raises(services.InvalidRows) as exc:
        services.submissions_bulk_load(actor=entity_user, rows=rows)
    assert [p.index for p in exc.value.problems] == [3]
    assert MonthlySubmission.objects.count() == 0
    result = services.submissions_bulk_load(actor=entity_user, rows=rows[:3])
    assert result["created"] == 3
    assert result["emissions_tco2"] == Decimal("7024.179")
    assert AuditEntry.objects.filter(action="mrv.submission.bulk_load").count() == 1


def test_duplicate_unit_month_in_one_batch(entity_user, unit):
    with pytest.raises(services.InvalidRows) as exc:
        services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit), month_row(unit)])
    assert exc.value.problems[0].code == "duplicate"


def test_test_report_rules(entity_user, entity, other_entity):
    with pytest.raises(DomainError) as exc:
        services.test_report_create(actor=entity_user, entity=entity, number="R1", laboratory="L",
                                    accreditation_number="CNAS L1", sample_id="S", sample_date=dt.date(2024, 5, 2),
                                    report_date=dt.date(2024, 5, 1))
    assert exc.value.field == "report_date"
    with pytest.raises(DomainError):
        services.test_report_create(actor=entity_user, entity=other_entity, number="R1", laboratory="L",
                                    accreditation_number="CNAS L1", sample_id="S", sample_date=dt.date(2024, 5, 2),
                                    report_date=dt.date(2024, 5, 3))


def test_annual_report_compiles_months_and_refuses_gaps(entity_user, entity, unit, chp_unit):
    rows = [month_row(u, month=m, year=2023) for u in (unit, chp_unit) for m in range(1, 13)]
    services.submissions_bulk_load(actor=entity_user, rows=rows[:-1])
    report = services.annual_report_compile(actor=entity_user, entity=entity, year=2023)
    assert report.months_missing == ["HB-WH-02 2023-12"]
    assert report.due_date == dt.date(2024, 3, 31)
    with pytest.raises(DomainError) as exc:
        services.annual_report_submit(actor=entity_user, report=report)
    assert exc.value.code == "months_missing"
    services.submissions_bulk_load(actor=entity_user, rows=rows[-1:])
    report = services.annual_report_compile(actor=entity_user, entity=entity, year=2023)
    # 24 unit-months x 1000 t at NCV 20.908 and the 2022+ default 0.03085 tC/GJ
    assert report.emissions_tco2 == Decimal("2341.393") * 24
    report = services.annual_report_submit(actor=entity_user, report=report)
    assert report.status == "submitted" and report.version == 2
    with pytest.raises(Conflict):
        services.annual_report_submit(actor=entity_user, report=report)


@pytest.mark.postgres
def test_copy_path_on_postgres_stores_same_figures(entity_user, unit, chp_unit, monkeypatch):
    monkeypatch.setattr(services, "COPY_THRESHOLD", 1)
    services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=1)])
    result = services.submissions_bulk_load(actor=entity_user, rows=[month_row(unit, month=1, note=""),
                                                                      month_row(chp_unit, month=1)])
    assert result["superseded"] == 1
    stored = MonthlySubmission.objects.filter(pk__in=result["ids"]).order_by("unit__code")
    assert [(s.unit.code, s.version, s.emissions_tco2) for s in stored] == [
        ("HB-WH-01", 2, Decimal("2341.393")), ("HB-WH-02", 1, Decimal("2341.393"))]
    assert FuelRecord.objects.filter(submission__in=stored).count() == 2
    assert stored[0].calculation[0]["inputs"]["CC"]["value"] == "0.03085"


def test_review_starts_at_the_lowest_tier_with_a_regulator(entity_user, unit, hubei):
    sub = submit(entity_user, month_row(unit))  # Wuhan has no municipal regulator in this test
    assert sub.status == MonthlySubmission.Status.PROVINCIAL_REVIEW
