"""The voluntary market's cast: two project owners, three VVBs, the registry reviewer (national).

Dates: the tests replay a project's life at fixed dates with ``clock.frozen`` so every working-day
deadline is a known calendar date (2024 and 2025 calendars from chinesecalendar).
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from entities.models import Accreditation, Organisation, User
from tests import factories as f
from voluntary import clock, services
from voluntary.models import Document, Methodology

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"

# The project timeline every lifecycle test uses.
CREATED = dt.date(2024, 3, 1)  # a Friday; 20 working days later is 2024-03-29
AFTER_DISCLOSURE = dt.date(2024, 4, 1)
APPLIED = dt.date(2024, 4, 2)
REGISTERED = dt.date(2024, 4, 10)
REPORTED = dt.date(2024, 6, 3)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Uploaded test documents go to a temporary directory, not the checkout's media/."""
    settings.MEDIA_ROOT = tmp_path


def pdf(name: str = "pdd.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _vvb(name: str, scopes=("CCER sector 01", "CCER sector 14")) -> Organisation:
    org = f.OrganisationFactory(name=name, kind=Organisation.Kind.VVB)
    for n, scope in enumerate(scopes):
        Accreditation.objects.create(organisation=org, scope=scope, number=f"{name}-{n}",
                                     valid_from=dt.date(2023, 1, 1), valid_to=dt.date(2030, 12, 31))
    return org


@pytest.fixture
def owner_org(db):
    return f.OrganisationFactory(name="三峡新能源海上风电有限公司", kind=Organisation.Kind.PROJECT_OWNER,
                                 credit_code=f.credit_code("440100"))


@pytest.fixture
def owner(owner_org):
    return f.UserFactory(role=User.Role.PROJECT_OWNER, organisation=owner_org, username="owner")


@pytest.fixture
def other_owner(db):
    org = f.OrganisationFactory(name="其他业主", kind=Organisation.Kind.PROJECT_OWNER)
    return f.UserFactory(role=User.Role.PROJECT_OWNER, organisation=org, username="other-owner")


@pytest.fixture
def validator_org(db):
    return _vvb("中国质量认证中心")


@pytest.fixture
def verifier_org(db):
    return _vvb("中环联合认证中心")


@pytest.fixture
def validator(validator_org):
    return f.UserFactory(role=User.Role.VVB, organisation=validator_org, username="validator")


@pytest.fixture
def verifier_user(verifier_org):
    return f.UserFactory(role=User.Role.VVB, organisation=verifier_org, username="vvb-verifier")


@pytest.fixture
def outsider_vvb(db):
    return f.UserFactory(role=User.Role.VVB, organisation=_vvb("其他审定核查机构"), username="outsider-vvb")


@pytest.fixture
def wind(db):
    return Methodology.objects.get(code="CCER-01-002-V01")


def wind_fields(wind, validator_org, **overrides) -> dict:
    fields = {
        "methodology": wind, "validator": validator_org, "title": "阳江沙扒海上风电项目",
        "site": "广东省阳江市沙扒镇以南海域", "province_id": "44", "capacity": Decimal("300.00"),
        "construction_start": dt.date(2021, 6, 1), "crediting_start": dt.date(2022, 1, 1),
        "crediting_end": dt.date(2031, 12, 31),
        "parameters": {"grid_connected": True, "offshore_distance_km": "45", "water_depth_m": "28"},
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def draft(owner, wind, validator_org, settings, tmp_path):
    # Also here (not only autouse): other apps' tests import this cast, and their uploads must not
    # land in the checkout's media/ either.
    settings.MEDIA_ROOT = tmp_path
    with clock.frozen(CREATED):
        return services.project_create(actor=owner, **wind_fields(wind, validator_org))


@pytest.fixture
def disclosed(draft, owner):
    with clock.frozen(CREATED):
        services.document_upload(actor=owner, project=draft, kind=Document.Kind.DESIGN, upload=pdf())
        return services.project_publish(actor=owner, project=draft)


@pytest.fixture
def validated(disclosed, validator):
    with clock.frozen(AFTER_DISCLOSURE):
        services.document_upload(actor=validator, project=disclosed, kind=Document.Kind.VALIDATION,
                                 upload=pdf("validation.pdf"))
        return services.project_validate(actor=validator, project=disclosed, positive=True)


@pytest.fixture
def applied(validated, owner):
    with clock.frozen(APPLIED):
        return services.project_apply(actor=owner, project=validated)


@pytest.fixture
def registered(applied, national):
    with clock.frozen(REGISTERED):
        return services.project_register(actor=national, project=applied)


@pytest.fixture
def report(registered, owner, verifier_org):
    """100,000 MWh exported over 2022-2023 (two vintages)."""
    with clock.frozen(REPORTED):
        return services.report_create(actor=owner, project=registered, verifier=verifier_org,
                                      period_start=dt.date(2022, 1, 1), period_end=dt.date(2023, 12, 31),
                                      net_export_mwh=Decimal("100000"))


@pytest.fixture
def report_disclosed(report, owner, verifier_user):
    with clock.frozen(REPORTED):
        services.document_upload(actor=owner, project=report.project, kind=Document.Kind.MONITORING,
                                 upload=pdf("mr.pdf"), report=report)
        services.report_submit(actor=owner, report=report)
        services.document_upload(actor=verifier_user, project=report.project, kind=Document.Kind.VERIFICATION,
                                 upload=pdf("vr.pdf"), report=report)
        return services.report_verify(actor=verifier_user, report=report,
                                      verified_net_export_mwh=Decimal("100000"))


REPORT_APPLIED = dt.date(2024, 7, 8)
REPORT_REGISTERED = dt.date(2024, 7, 15)


@pytest.fixture
def report_applied(report_disclosed, owner):
    with clock.frozen(REPORT_APPLIED):
        return services.report_apply(actor=owner, report=report_disclosed)


@pytest.fixture
def issued(report_applied, national):
    """The registered reductions: 65,652 t issued as 32,826 t of 2022 and 32,826 t of 2023."""
    with clock.frozen(REPORT_REGISTERED):
        return services.report_register(actor=national, report=report_applied)
