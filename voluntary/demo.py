"""Demo voluntary market: two VVBs, a project owner, a registered offshore wind project with an issuance.

The project's history is replayed through the services at its real dates (``clock.frozen``), so every
disclosure window and deadline is what the calendar gives. Idempotent: nothing is redone once the
project exists.
"""

import datetime as dt
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from reportlab.pdfgen import canvas

from entities.credit_code import credit_code_make
from entities.demo import DEMO_PASSWORD
from entities.models import Accreditation, Organisation, Province, User

from . import clock, services
from .models import CreditUse, Document, Methodology, Project

PROJECT_TITLE = "三峡阳江沙扒海上风电项目"
VVBS = [("12110100000000101", "中国质量认证中心", "China Quality Certification Centre", "cqc"),
        ("12110100000000102", "中环联合（北京）认证中心", "China Environmental United Certification Center", "cec")]


def _pdf(title: str) -> SimpleUploadedFile:
    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(72, 760, title)
    page.showPage()
    page.save()
    return SimpleUploadedFile(f"{title.lower().replace(' ', '-')}.pdf", buf.getvalue(), content_type="application/pdf")


def _user(username: str, role: str, organisation: Organisation) -> User:
    user, created = User.objects.get_or_create(username=username, defaults={"role": role,
                                                                            "organisation": organisation})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


def _organisation(code: str, name: str, name_en: str, kind: str) -> Organisation:
    org, _ = Organisation.objects.get_or_create(credit_code=credit_code_make(code), defaults={
        "name": name, "name_en": name_en, "kind": kind, "province": Province.objects.get(code="11")})
    return org


def seed(out, base) -> dict:
    vvbs, vvb_users = [], []
    for code, name, name_en, username in VVBS:
        org = _organisation(code, name, name_en, Organisation.Kind.VVB)
        for sector in ("01", "14"):
            Accreditation.objects.get_or_create(organisation=org, scope=f"CCER sector {sector}", defaults={
                "number": f"CNCA-CCER-{sector}-{username.upper()}", "valid_from": dt.date(2023, 10, 1),
                "valid_to": dt.date(2028, 9, 30)})
        vvbs.append(org)
        vvb_users.append(_user(username, User.Role.VVB, org))
    owner_org = _organisation("91440100000000201", "三峡新能源阳江发电有限公司", "CTG New Energy Yangjiang",
                              Organisation.Kind.PROJECT_OWNER)
    owner = _user("ctg-owner", User.Role.PROJECT_OWNER, owner_org)
    reviewer = base["users"]["mee"]
    project = Project.objects.filter(title=PROJECT_TITLE).first()
    if project is None:
        project = _replay(owner, vvb_users, vvbs, reviewer)
        out.write(f"voluntary: registered {project.registration_number} with "
                  f"{sum(i.quantity for i in project.issuances.all())} t issued\n")
    return {"project": project, "owner": owner, "vvbs": vvbs}


@transaction.atomic
def _replay(owner, vvb_users, vvbs, reviewer) -> Project:
    validator, verifier = vvb_users
    with clock.frozen(dt.date(2024, 3, 1)):
        project = services.project_create(
            actor=owner, methodology=Methodology.objects.get(code="CCER-01-002-V01"), validator=vvbs[0],
            title=PROJECT_TITLE, title_en="CTG Yangjiang Shapa offshore wind farm", site="广东省阳江市沙扒镇以南海域",
            province_id="44", capacity=Decimal("300.00"), construction_start=dt.date(2021, 6, 1),
            crediting_start=dt.date(2022, 1, 1), crediting_end=dt.date(2031, 12, 31),
            parameters={"grid_connected": True, "offshore_distance_km": "45", "water_depth_m": "28"},
            description="55 x 5.5 MW turbines, 45 km offshore, connected to the Guangdong grid.")
        services.document_upload(actor=owner, project=project, kind=Document.Kind.DESIGN,
                                 upload=_pdf("Project design document"))
        project = services.project_publish(actor=owner, project=project)
        services.comment_add(project=project, author_name="阳江市渔业协会", text="请说明施工期对渔业的影响及补偿安排。")
    with clock.frozen(dt.date(2024, 4, 1)):
        services.document_upload(actor=validator, project=project, kind=Document.Kind.VALIDATION,
                                 upload=_pdf("Validation report"))
        project = services.project_validate(actor=validator, project=project, positive=True,
                                            conclusion="符合方法学要求")
    with clock.frozen(dt.date(2024, 4, 2)):
        project = services.project_apply(actor=owner, project=project)
    with clock.frozen(dt.date(2024, 4, 10)):
        project = services.project_register(actor=reviewer, project=project)
    with clock.frozen(dt.date(2024, 6, 3)):
        report = services.report_create(actor=owner, project=project, verifier=vvbs[1],
                                        period_start=dt.date(2022, 1, 1), period_end=dt.date(2023, 12, 31),
                                        net_export_mwh=Decimal("1830000"))
        services.document_upload(actor=owner, project=project, kind=Document.Kind.MONITORING,
                                 upload=_pdf("Monitoring report 2022-2023"), report=report)
        report = services.report_submit(actor=owner, report=report)
        services.document_upload(actor=verifier, project=project, kind=Document.Kind.VERIFICATION,
                                 upload=_pdf("Verification report 2022-2023"), report=report)
        report = services.report_verify(actor=verifier, report=report, verified_net_export_mwh=Decimal("1826500"))
    with clock.frozen(dt.date(2024, 7, 8)):
        report = services.report_apply(actor=owner, report=report)
    with clock.frozen(dt.date(2024, 7, 15)):
        issuances = services.report_register(actor=reviewer, report=report)
    with clock.frozen(dt.date(2024, 9, 2)):
        services.credit_retire(actor=owner, instrument_code=issuances[-1].instrument_code, quantity=1000,
                               beneficiary="2024年中国国际服务贸易交易会", purpose=CreditUse.Purpose.EVENT,
                               purpose_detail="会议碳中和")
    project.refresh_from_db()
    return project
