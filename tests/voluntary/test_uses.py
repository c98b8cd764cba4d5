"""Using CCERs: transfer, voluntary retirement and cancellation for ETS offset, with public certificates."""

import datetime as dt

import pytest
from django.utils import timezone

from cets.common.errors import DomainError, Forbidden
from entities.models import User
from registry import services as registry
from registry.models import Account, Holding, Transaction
from tests import factories as f
from voluntary import certificates, clock, selectors, services
from voluntary.models import CreditUse

pytestmark = pytest.mark.django_db

USE_DAY = dt.date(2024, 9, 2)


def _held(account, code) -> int:
    holding = Holding.objects.filter(account=account, instrument__code=code).first()
    return holding.total if holding else 0


@pytest.fixture
def entity_ccers(issued, owner_org, entity):
    """10,000 t of the 2022 vintage moved (by the system) into the Wuhan entity's holding account."""
    vintage_2022 = issued[0]
    source = registry.account_for_organisation(organisation=owner_org, create=False)
    target = registry.account_for_entity(entity=entity)
    registry.transfer_create(actor=None, from_account=source, to_account=target,
                             instrument=registry.instrument_create_ccer(project_ref=issued[0].project.ref,
                                                                        vintage=2022),
                             quantity=10000)
    return vintage_2022


def test_owner_retires_for_an_event_with_a_public_record(issued, owner, owner_org):
    code_2023 = issued[1].instrument_code
    with clock.frozen(USE_DAY):
        use = services.credit_retire(actor=owner, instrument_code=code_2023, quantity=1200,
                                     beneficiary="2024年武汉马拉松组委会", purpose=CreditUse.Purpose.EVENT,
                                     purpose_detail="赛事碳中和")
    assert use.kind == CreditUse.Kind.RETIREMENT and use.quantity == 1200 and use.vintage == 2023
    assert use.code.startswith("VR2024-") and use.used_on == USE_DAY
    serial_range = f"CN-{code_2023}-000000000001…CN-{code_2023}-000000001200"
    assert use.serials == [{"start": 1, "end": 1200, "range": serial_range}]
    account = registry.account_for_organisation(organisation=owner_org, create=False)
    assert _held(account, code_2023) == 32826 - 1200
    retired = Account.objects.get(kind=Account.Kind.NATIONAL_VOLUNTARY_RETIREMENT)
    assert _held(retired, code_2023) == 1200
    tx = Transaction.objects.get(kind=Transaction.Kind.VOLUNTARY_RETIREMENT)
    assert tx.beneficiary == "2024年武汉马拉松组委会"
    assert selectors.use_by_code(use.code.lower()) == use


def test_retire_more_than_held_changes_nothing(issued, owner):
    with pytest.raises(DomainError) as exc:
        services.credit_retire(actor=owner, instrument_code=issued[0].instrument_code, quantity=32827,
                               beneficiary="X", purpose=CreditUse.Purpose.CORPORATE)
    assert exc.value.field == "quantity"
    assert CreditUse.objects.count() == 0


def test_retire_needs_beneficiary_and_purpose(issued, owner):
    with pytest.raises(DomainError) as exc:
        services.credit_retire(actor=owner, instrument_code=issued[0].instrument_code, quantity=1,
                               beneficiary=" ", purpose=CreditUse.Purpose.CORPORATE)
    assert exc.value.field == "beneficiary"
    with pytest.raises(DomainError) as exc:
        services.credit_retire(actor=owner, instrument_code=issued[0].instrument_code, quantity=1,
                               beneficiary="A", purpose=CreditUse.Purpose.COMPLIANCE)
    assert exc.value.field == "purpose"


def test_vvb_holds_nothing_to_retire(issued, verifier_user):
    with pytest.raises(Forbidden):
        services.credit_retire(actor=verifier_user, instrument_code=issued[0].instrument_code, quantity=1,
                               beneficiary="A", purpose=CreditUse.Purpose.CORPORATE)


def test_offset_cancel_for_compliance(entity_ccers, entity, entity_user):
    code = entity_ccers.instrument_code
    with clock.frozen(USE_DAY):
        use = services.offset_cancel(actor=entity_user, entity=entity, instrument_code=code, quantity=4000,
                                     compliance_year=2023)
    assert use.kind == CreditUse.Kind.OFFSET and use.compliance_year == 2023 and use.beneficiary == entity.name
    assert use.code.startswith("OC2024-")
    assert _held(registry.account_for_entity(entity=entity, create=False), code) == 6000
    assert _held(Account.objects.get(kind=Account.Kind.NATIONAL_CCER_CANCELLATION), code) == 4000


def test_offset_only_by_the_entity_itself(entity_ccers, entity, other_entity_user, national):
    for actor in (other_entity_user, national):
        with pytest.raises(Forbidden):
            services.offset_cancel(actor=actor, entity=entity, instrument_code=entity_ccers.instrument_code,
                                   quantity=1, compliance_year=2023)
    assert CreditUse.objects.count() == 0


def test_cancelled_project_credits_are_not_offset_eligible(entity_ccers, entity, entity_user, national):
    project = entity_ccers.project
    assert selectors.offset_eligible(project).eligible
    services.project_cancel(actor=national, project=project, reason="虚报")
    project.refresh_from_db()
    result = selectors.offset_eligible(project)
    assert not result.eligible and "Cancelled" in result.reason
    with pytest.raises(DomainError) as exc:
        services.offset_cancel(actor=entity_user, entity=entity, instrument_code=entity_ccers.instrument_code,
                               quantity=1, compliance_year=2023)
    assert exc.value.code == "not_offset_eligible"
    assert _held(registry.account_for_entity(entity=entity, create=False), entity_ccers.instrument_code) == 10000


def test_transfer_goes_through_the_registry(issued, owner, owner_org, entity):
    target = registry.account_for_entity(entity=entity)
    result = services.ccer_transfer(actor=owner, instrument_code=issued[0].instrument_code,
                                    to_account=target.number, quantity=500)
    assert result["quantity"] == 500 and result["to_account"] == target.number
    tx = Transaction.objects.get(pk=result["transaction"])
    assert tx.kind == Transaction.Kind.TRANSFER and tx.quantity == 500
    # not trusted: the registry delays it (units reserved, not moved yet)
    assert tx.status == Transaction.Status.DELAYED


def test_certificate_pdf_has_qr_and_chinese_font(issued, owner):
    with clock.frozen(USE_DAY):
        use = services.credit_retire(actor=owner, instrument_code=issued[0].instrument_code, quantity=10,
                                     beneficiary="某公司", purpose=CreditUse.Purpose.CORPORATE)
    pdf = certificates.certificate_pdf(use, f"https://cets.example/voluntary/public/cancellations/{use.code}/")
    assert pdf.startswith(b"%PDF-")
    assert b"STSong-Light" in pdf
    assert b"/Subtype /Image" in pdf
    assert certificates.certificate_pdf(use, "https://x/") == certificates.certificate_pdf(use, "https://x/")


def test_a_reversed_retirement_is_shown_as_reversed_and_has_no_certificate(issued, owner, national, client):
    """The record stays (history), but the ledger says the units went back: no page, API or PDF calls it genuine."""
    from rest_framework.test import APIClient

    with clock.frozen(USE_DAY):
        use = services.credit_retire(actor=owner, instrument_code=issued[0].instrument_code, quantity=10,
                                     beneficiary="某公司", purpose=CreditUse.Purpose.CORPORATE)
    api = APIClient()
    assert api.get(f"/api/v1/voluntary/uses/{use.code}/").json()["reversed_on"] is None
    assert api.get(f"/api/v1/voluntary/uses/{use.code}/certificate/").status_code == 200

    tx = Transaction.objects.get(kind=Transaction.Kind.VOLUNTARY_RETIREMENT)
    proposal = registry.reversal_propose(actor=national, transaction=tx, reason="retired the wrong vintage")
    registry.transaction_approve(actor=f.regulator(User.Role.NATIONAL_REGULATOR, username="mee2"),
                                 transaction=proposal)
    tx.refresh_from_db()
    proposal.refresh_from_db()
    assert tx.status == "reversed"
    assert selectors.use_by_code(use.code).reversal.pk == proposal.pk

    detail = api.get(f"/api/v1/voluntary/uses/{use.code}/").json()
    assert detail["reversed_on"] == timezone.localdate(proposal.executed_at).isoformat()
    listed = {row["code"]: row for row in api.get("/api/v1/voluntary/uses/").json()["results"]}
    assert listed[use.code]["reversed_on"] == detail["reversed_on"]
    refused = api.get(f"/api/v1/voluntary/uses/{use.code}/certificate/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "use_reversed"

    page = client.get(f"/voluntary/public/cancellations/{use.code}/")
    assert b'data-testid="reversed"' in page.content and b"certificate.pdf" not in page.content
    pdf = client.get(f"/voluntary/public/cancellations/{use.code}/certificate.pdf")
    assert pdf.status_code == 302 and pdf["Location"].endswith(f"/cancellations/{use.code}/")
