"""Business rules of issue 8 point 9 and the eligibility checks: a clear error naming the field, nothing changed."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from cets.common.errors import Conflict, DomainError, Forbidden
from entities.models import Organisation
from tests import factories as f
from voluntary import clock, services
from voluntary.models import Comment, Document, Methodology, MonitoringReport, Project

from .conftest import AFTER_DISCLOSURE, CREATED, PDF, REPORTED, pdf, wind_fields

pytestmark = pytest.mark.django_db


def _refused(exc_info, code: str, field: str):
    assert exc_info.value.code == code, exc_info.value.message
    assert exc_info.value.field == field


# ---------------------------------------------------------------- projects

def test_construction_before_2012_11_08_refused(owner, wind, validator_org):
    with clock.frozen(CREATED), pytest.raises(DomainError) as exc:
        services.project_create(actor=owner, **wind_fields(wind, validator_org,
                                                           construction_start=dt.date(2012, 11, 8)))
    _refused(exc, "construction_too_early", "construction_start")
    assert "8 November 2012" in exc.value.message
    assert Project.objects.count() == 0


def test_offshore_wind_crediting_period_at_most_10_years(owner, wind, validator_org):
    with clock.frozen(CREATED), pytest.raises(DomainError) as exc:
        services.project_create(actor=owner, **wind_fields(wind, validator_org, crediting_end=dt.date(2032, 1, 1)))
    _refused(exc, "crediting_too_long", "crediting_end")
    assert Project.objects.count() == 0


def test_missing_methodology_parameter_named(owner, wind, validator_org):
    with clock.frozen(CREATED), pytest.raises(DomainError) as exc:
        services.project_create(actor=owner, **wind_fields(wind, validator_org, parameters={"grid_connected": True}))
    _refused(exc, "parameters_missing", "parameters.offshore_distance_km")


def test_validator_must_be_accredited_for_the_sector(owner, wind):
    forestry_only = f.OrganisationFactory(kind=Organisation.Kind.VVB)
    forestry_only.accreditations.create(scope="CCER sector 14", number="X", valid_from=dt.date(2023, 1, 1),
                                        valid_to=dt.date(2030, 1, 1))
    with clock.frozen(CREATED), pytest.raises(DomainError) as exc:
        services.project_create(actor=owner, **wind_fields(wind, forestry_only))
    _refused(exc, "vvb_not_accredited", "validator")


def test_only_project_owners_draft(verifier_user, wind, validator_org):
    with clock.frozen(CREATED), pytest.raises(Forbidden):
        services.project_create(actor=verifier_user, **wind_fields(wind, validator_org))


def test_offshore_wind_applicability_30_km_or_30_m(owner, wind, validator_org):
    near = wind_fields(wind, validator_org, parameters={"grid_connected": True, "offshore_distance_km": "12",
                                                        "water_depth_m": "18"})
    with clock.frozen(CREATED):
        project = services.project_create(actor=owner, **near)
        services.document_upload(actor=owner, project=project, kind=Document.Kind.DESIGN, upload=pdf())
        with pytest.raises(DomainError) as exc:
            services.project_publish(actor=owner, project=project)
    _refused(exc, "not_applicable", "parameters")
    assert "offshore_distance_km > 30 or water_depth_m > 30" in exc.value.message
    project.refresh_from_db()
    assert project.state == Project.State.DRAFT and project.disclosure_end is None


def test_deep_water_alone_is_applicable(owner, wind, validator_org):
    deep = wind_fields(wind, validator_org, parameters={"grid_connected": True, "offshore_distance_km": "12",
                                                        "water_depth_m": "35"})
    with clock.frozen(CREATED):
        project = services.project_create(actor=owner, **deep)
        services.document_upload(actor=owner, project=project, kind=Document.Kind.DESIGN, upload=pdf())
        assert services.project_publish(actor=owner, project=project).state == Project.State.DISCLOSURE


def test_publish_needs_the_design_document(draft, owner):
    with clock.frozen(CREATED), pytest.raises(DomainError) as exc:
        services.project_publish(actor=owner, project=draft)
    _refused(exc, "design_document_missing", "documents")


def test_second_project_on_same_site_and_capacity_refused(disclosed, owner, wind, validator_org):
    with clock.frozen(CREATED):
        twin = services.project_create(actor=owner, **wind_fields(wind, validator_org,
                                                                  site=" 广东省阳江市沙扒镇以南海域 "))
        services.document_upload(actor=owner, project=twin, kind=Document.Kind.DESIGN, upload=pdf())
        with pytest.raises(DomainError) as exc:
            services.project_publish(actor=owner, project=twin)
    _refused(exc, "duplicate_project", "site")
    assert disclosed.ref in exc.value.message
    assert Project.objects.filter(state=Project.State.DISCLOSURE).count() == 1


def test_ets_unit_cannot_become_a_project(entity, owner, validator_org):
    """A project at the site of Hubei's 660 MW coal unit HB-WH-01 is refused (cross-check with entities)."""
    solar = Methodology.objects.get(code="CCER-01-001-V01")
    fields = wind_fields(solar, validator_org, province_id="42", site=f"{entity.name} HB-WH-01",
                         capacity=Decimal("660"), parameters={"grid_connected": True, "storage_hours": 8})
    with clock.frozen(CREATED):
        project = services.project_create(actor=owner, **fields)
        services.document_upload(actor=owner, project=project, kind=Document.Kind.DESIGN, upload=pdf())
        with pytest.raises(DomainError) as exc:
            services.project_publish(actor=owner, project=project)
    _refused(exc, "ets_unit", "site")
    assert "HB-WH-01" in exc.value.message


def test_comment_after_disclosure_closed_refused(disclosed):
    with clock.frozen(dt.date(2024, 3, 29)):
        services.comment_add(project=disclosed, author_name="渔民协会", text="请说明对渔业的影响。")
    with clock.frozen(dt.date(2024, 3, 30)), pytest.raises(DomainError) as exc:
        services.comment_add(project=disclosed, author_name="迟到者", text="太晚了")
    _refused(exc, "disclosure_closed", "text")
    assert "2024-03-29" in exc.value.message
    assert Comment.objects.count() == 1


def test_comment_on_draft_refused(draft):
    with clock.frozen(CREATED), pytest.raises(DomainError) as exc:
        services.comment_add(project=draft, author_name="A", text="B")
    _refused(exc, "disclosure_closed", "text")


def test_validation_waits_for_the_disclosure_to_close(disclosed, validator):
    with clock.frozen(dt.date(2024, 3, 29)):
        services.document_upload(actor=validator, project=disclosed, kind=Document.Kind.VALIDATION,
                                 upload=pdf("v.pdf"))
        with pytest.raises(DomainError) as exc:
            services.project_validate(actor=validator, project=disclosed, positive=True)
    _refused(exc, "disclosure_open", "state")


def test_only_the_chosen_vvb_validates(disclosed, verifier_user):
    with clock.frozen(AFTER_DISCLOSURE), pytest.raises(Forbidden):
        services.project_validate(actor=verifier_user, project=disclosed, positive=True)


def test_negative_validation_returns_to_draft(disclosed, validator):
    with clock.frozen(AFTER_DISCLOSURE):
        services.document_upload(actor=validator, project=disclosed, kind=Document.Kind.VALIDATION,
                                 upload=pdf("v.pdf"))
        project = services.project_validate(actor=validator, project=disclosed, positive=False)
    assert project.state == Project.State.DRAFT and project.disclosure_end is None


def test_rejection_needs_reasons_and_is_final(applied, national):
    with pytest.raises(DomainError) as exc:
        services.project_reject(actor=national, project=applied, reason="  ")
    _refused(exc, "reason_required", "reason")
    project = services.project_reject(actor=national, project=applied, reason="额外性论证不足")
    assert project.state == Project.State.REJECTED and project.rejection_reason == "额外性论证不足"
    with pytest.raises(Conflict):
        services.project_register(actor=national, project=project)


def test_cancelled_project_never_returns(registered, national, owner, wind, validator_org):
    project = services.project_cancel(actor=national, project=registered, reason="业主申请注销")
    assert project.state == Project.State.CANCELLED
    for fn in (services.project_register, services.project_apply):
        with pytest.raises((Conflict, Forbidden)):
            fn(actor=national, project=project)
    with pytest.raises(Conflict):
        services.project_cancel(actor=national, project=project, reason="again")
    # and its site and capacity stay taken
    with clock.frozen(REPORTED):
        again = services.project_create(actor=owner, **wind_fields(wind, validator_org, crediting_start=dt.date(
            2024, 1, 1), crediting_end=dt.date(2033, 12, 31)))
        services.document_upload(actor=owner, project=again, kind=Document.Kind.DESIGN, upload=pdf())
        with pytest.raises(DomainError) as exc:
            services.project_publish(actor=owner, project=again)
    _refused(exc, "duplicate_project", "site")


def test_only_reviewers_register(applied, hubei, owner):
    for actor in (hubei, owner):
        with pytest.raises(Forbidden):
            services.project_register(actor=actor, project=applied)
    applied.refresh_from_db()
    assert applied.state == Project.State.APPLIED


# ---------------------------------------------------------------- uploads

def test_wrong_file_type_refused(draft, owner):
    fake = SimpleUploadedFile("pdd.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(DomainError) as exc:
        services.document_upload(actor=owner, project=draft, kind=Document.Kind.DESIGN, upload=fake)
    _refused(exc, "file_type", "file")
    exe = SimpleUploadedFile("pdd.exe", b"%PDF-1.4", content_type="application/octet-stream")
    with pytest.raises(DomainError):
        services.document_upload(actor=owner, project=draft, kind=Document.Kind.DESIGN, upload=exe)
    assert Document.objects.count() == 0


@override_settings(MAX_UPLOAD_BYTES=100)
def test_oversized_file_refused(draft, owner):
    big = SimpleUploadedFile("pdd.pdf", b"%PDF-1.4" + b"x" * 200, content_type="application/pdf")
    with pytest.raises(DomainError) as exc:
        services.document_upload(actor=owner, project=draft, kind=Document.Kind.DESIGN, upload=big)
    _refused(exc, "file_too_large", "file")
    assert "at most 100 bytes" in exc.value.message
    assert Document.objects.count() == 0


def test_document_keeps_its_hash(draft, owner):
    doc = services.document_upload(actor=owner, project=draft, kind=Document.Kind.DESIGN, upload=pdf())
    assert doc.sha256 == hashlib.sha256(PDF).hexdigest() and doc.size == len(PDF)


def test_other_owner_cannot_upload(draft, other_owner):
    with pytest.raises(Forbidden):
        services.document_upload(actor=other_owner, project=draft, kind=Document.Kind.DESIGN, upload=pdf())


# ---------------------------------------------------------------- reductions

def _report(project, owner, verifier, start, end, mwh="1000", on=REPORTED):
    with clock.frozen(on):
        return services.report_create(actor=owner, project=project, verifier=verifier, period_start=start,
                                      period_end=end, net_export_mwh=Decimal(mwh))


def test_validator_cannot_verify_its_own_project(registered, owner, validator_org):
    with pytest.raises(DomainError) as exc:
        _report(registered, owner, validator_org, dt.date(2022, 1, 1), dt.date(2022, 12, 31))
    _refused(exc, "verifier_is_validator", "verifier")
    assert MonitoringReport.objects.count() == 0


def test_overlapping_period_refused(report, owner, verifier_org):
    with pytest.raises(DomainError) as exc:
        _report(report.project, owner, verifier_org, dt.date(2023, 12, 31), dt.date(2024, 3, 31))
    _refused(exc, "period_overlap", "period_start")
    assert "2022-01-01" in exc.value.message
    assert MonitoringReport.objects.count() == 1
    # the next day is fine
    nxt = _report(report.project, owner, verifier_org, dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert nxt.claimed_reductions == 656  # 1,000 MWh x 0.656525


def test_rejected_period_can_be_reported_again(report_applied, national, owner, verifier_org):
    services.report_reject(actor=national, report=report_applied, reason="计量数据不完整")
    again = _report(report_applied.project, owner, verifier_org, dt.date(2022, 1, 1), dt.date(2022, 12, 31),
                    on=dt.date(2024, 8, 1))
    assert again.state == MonitoringReport.State.DRAFT


def test_period_older_than_5_years_refused(owner, verifier_org, wind, validator_org, national, validator):
    """A project crediting from 2021 reporting in 2026: its 2021 tonnes are more than 5 years old."""
    fields = wind_fields(wind, validator_org, crediting_start=dt.date(2021, 1, 1), crediting_end=dt.date(2030, 12, 31),
                         construction_start=dt.date(2020, 6, 1))
    with clock.frozen(CREATED):
        project = services.project_create(actor=owner, **fields)
        services.document_upload(actor=owner, project=project, kind=Document.Kind.DESIGN, upload=pdf())
        services.project_publish(actor=owner, project=project)
    with clock.frozen(AFTER_DISCLOSURE):
        services.document_upload(actor=validator, project=project, kind=Document.Kind.VALIDATION, upload=pdf())
        services.project_validate(actor=validator, project=project, positive=True)
        services.project_apply(actor=owner, project=project)
        services.project_register(actor=national, project=project)
    with pytest.raises(DomainError) as exc:
        _report(project, owner, verifier_org, dt.date(2021, 3, 1), dt.date(2021, 12, 31), on=dt.date(2026, 6, 1))
    _refused(exc, "period_too_old", "period_start")
    assert "2021-06-01" in exc.value.message
    assert MonitoringReport.objects.count() == 0


def test_period_before_2020_09_22_or_outside_crediting_refused(registered, owner, verifier_org):
    with pytest.raises(DomainError) as exc:
        _report(registered, owner, verifier_org, dt.date(2021, 12, 1), dt.date(2022, 1, 31))
    _refused(exc, "outside_crediting_period", "period_start")
    with pytest.raises(DomainError) as exc:
        _report(registered, owner, verifier_org, dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    _refused(exc, "period_not_ended", "period_end")


def test_period_before_2020_09_22_refused(owner, verifier_org, registered):
    registered.crediting_start = dt.date(2020, 1, 1)
    registered.save(update_fields=["crediting_start"])
    with pytest.raises(DomainError) as exc:
        _report(registered, owner, verifier_org, dt.date(2020, 9, 1), dt.date(2020, 12, 31))
    _refused(exc, "period_too_early", "period_start")


def test_verified_cannot_exceed_claimed(report, owner, verifier_user):
    with clock.frozen(REPORTED):
        services.document_upload(actor=owner, project=report.project, kind=Document.Kind.MONITORING,
                                 upload=pdf(), report=report)
        services.report_submit(actor=owner, report=report)
        services.document_upload(actor=verifier_user, project=report.project, kind=Document.Kind.VERIFICATION,
                                 upload=pdf(), report=report)
        with pytest.raises(DomainError) as exc:
            services.report_verify(actor=verifier_user, report=report, verified_net_export_mwh=Decimal("200000"))
    _refused(exc, "above_claimed", "verified_reductions")
    report.refresh_from_db()
    assert report.state == MonitoringReport.State.SUBMITTED and report.verified_reductions is None


def test_apply_waits_for_the_reductions_disclosure(report_disclosed, owner):
    with clock.frozen(dt.date(2024, 7, 2)), pytest.raises(DomainError) as exc:
        services.report_apply(actor=owner, report=report_disclosed)
    _refused(exc, "disclosure_open", "state")


def test_reported_methodology_ceiling(owner, validator_org):
    """Afforestation takes the reported removals but never above area x 25 t/ha/yr."""
    forest = Methodology.objects.get(code="CCER-14-001-V01")
    project = Project(methodology=forest, province_id="44", capacity=Decimal("100"))
    with pytest.raises(DomainError) as exc:
        services._quantity(project, dt.date(2023, 1, 1), dt.date(2023, 12, 31), net_export_mwh=None, reported=2501)
    _refused(exc, "above_ceiling", "reductions")
    assert services._quantity(project, dt.date(2023, 1, 1), dt.date(2023, 12, 31), net_export_mwh=None,
                              reported=2500)[0] == 2500


def test_solar_thermal_reported_figure_capped_by_grid_baseline():
    solar = Methodology.objects.get(code="CCER-01-001-V01")
    project = Project(methodology=solar, province_id="62", capacity=Decimal("100"))  # Gansu: north-west grid
    # EF_CM = 0.75 x 0.8922 + 0.25 x 0.4407 = 0.779325; 10,000 MWh -> 7,793 t
    with pytest.raises(DomainError) as exc:
        services._quantity(project, dt.date(2023, 1, 1), dt.date(2023, 12, 31), net_export_mwh=Decimal("10000"),
                           reported=7794)
    _refused(exc, "above_grid_baseline", "reductions")
    quantity, calc = services._quantity(project, dt.date(2023, 1, 1), dt.date(2023, 12, 31),
                                        net_export_mwh=Decimal("10000"), reported=7793)
    assert quantity == 7793 and calc["ef_cm"] == "0.779325"


def test_comment_needs_name_and_bounded_text(disclosed):
    with clock.frozen(CREATED):
        with pytest.raises(DomainError) as exc:
            services.comment_add(project=disclosed, author_name=" ", text="x")
        _refused(exc, "required", "author_name")
        with pytest.raises(DomainError) as exc:
            services.comment_add(project=disclosed, author_name="A", text="长" * 5001)
        _refused(exc, "too_long", "text")
    assert Comment.objects.count() == 0
