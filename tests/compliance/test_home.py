"""Role home pages as work queues: each shows real figures of its own user and nothing of another's."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance import home
from compliance.models import ComplianceCycle
from mrv.models import EarlyWarning, MonthlySubmission, Verification, WarningRule
from mrv.selectors import months_due
from tests.compliance.test_risk import monthly

pytestmark = pytest.mark.django_db


@pytest.fixture
def only_2024(db):
    """The 2024 annual cycle open alone (deadline 2025-12-31)."""
    ComplianceCycle.objects.exclude(code="2024").update(status=ComplianceCycle.Status.CLOSED)
    return ComplianceCycle.objects.get(code="2024")


def _review(entity, user, month, status=MonthlySubmission.Status.PROVINCIAL_REVIEW):
    return MonthlySubmission.objects.create(
        entity=entity, unit=entity.units.first(), year=2025, month=month, emissions_tco2=Decimal("1000"),
        deadline=dt.date(2025, 12, 31), on_time=True, submitted_by=user, submitted_at=timezone.now(),
        status=status, review_due=dt.date(2025, 12, month))


def _warning(entity, tier="provincial", status=EarlyWarning.Status.DETECTED):
    return EarlyWarning.objects.create(rule=WarningRule.objects.get(code="load_factor_range"), entity=entity,
                                       year=2025, month=3, fingerprint=f"t:{entity.pk}:{tier}", message="x",
                                       tier=tier, status=status, due_date=dt.date(2025, 12, 20))


def test_position_counts_eligible_holdings_against_the_extrapolated_obligation(only_2024, entity, entity_user,
                                                                                give, other_entity):
    monthly(entity, entity_user, 2024, range(1, 7), "100000")  # Jan-Jun: 600,000 t -> 1,200,000 t a year
    give(entity, 2024, 900_000)
    give(other_entity, 2024, 777_000)
    [row] = home.compliance_position(entity, dt.date(2024, 7, 15))
    assert (row["year"], row["basis"], row["expected"], row["covered"], row["holdings"], row["gap"]) == (
        2024, "monthly", 1_200_000, 0, 900_000, 300_000)
    assert row["vintages"] == ["CEA24"] and row["level"] == "severe"
    assert row["days_left"] == (dt.date(2025, 12, 31) - dt.date(2024, 7, 15)).days == 534


def test_months_due(entity, entity_user):
    sub = MonthlySubmission.objects.create(
        entity=entity, unit=entity.units.get(code="HB-WH-01"), year=2024, month=1, emissions_tco2=Decimal("1"),
        deadline=dt.date(2024, 3, 11), on_time=False, submitted_by=entity_user, submitted_at=timezone.now())
    months = months_due(entity.pk, dt.date(2024, 3, 15))
    # Feb 2024 (deadline Apr 9) is due for both units; Mar 2023-Jan 2024 are late, but for the one stored late.
    assert [(m["unit"], m["month"], m["days_left"]) for m in months["due"]] == [
        ("HB-WH-01", 2, 25), ("HB-WH-02", 2, 25)]
    assert len(months["late"]) == 21 and ("HB-WH-01", 2024, 1) not in {
        (m["unit"], m["year"], m["month"]) for m in months["late"]}
    assert [(m["unit"], m["year"], m["month"]) for m in months["submitted_late"]] == [
        (sub.unit.code, 2024, 1)]


def test_entity_home_shows_its_own_figures_only(client, only_2024, entity, entity_user, other_entity,
                                                other_entity_user, give, hubei,
                                                django_assert_max_num_queries):
    monthly(entity, entity_user, 2024, range(1, 13), "50000")  # 600,000 t
    give(entity, 2024, 650_000)
    give(other_entity, 2024, 777_000)
    sub = _review(entity, entity_user, 3)
    from mrv.reviews import information_request

    information_request(actor=hubei, submission=sub, question="Send the coal invoices of March")
    _warning(other_entity)
    client.force_login(entity_user)
    with django_assert_max_num_queries(40):
        html = client.get("/home/").content.decode()
    assert "600,000 t" in html and "650,000 t" in html and "Holdings cover the rest" in html
    assert "Send the coal invoices of March" in html and f"/mrv/submissions/{sub.pk}/" in html
    assert "777,000" not in html and other_entity.name not in html
    assert "Open requests: 1 · open early warnings: 0" in html


def test_regulator_home_queues_of_its_jurisdiction(client, admin_login, entity, entity_user, other_entity,
                                                   other_entity_user, hubei, guangdong, wuhan,
                                                   django_assert_max_num_queries):
    _review(entity, entity_user, 3)
    _review(entity, entity_user, 4)
    _review(other_entity, other_entity_user, 3)
    _review(entity, entity_user, 5, status=MonthlySubmission.Status.MUNICIPAL_REVIEW)
    _warning(entity)
    Verification.objects.create(entity=entity, year=2024, status=Verification.Status.SUBMITTED)
    Verification.objects.create(entity=other_entity, year=2024, status=Verification.Status.SUBMITTED)
    figures = home.regulator_home(hubei, dt.date(2025, 12, 1))
    assert (figures["reviews"]["count"], figures["reviews"]["next_due"]) == (2, dt.date(2025, 12, 3))
    assert {s.entity_id for s in figures["reviews"]["rows"]} == {entity.pk}
    assert figures["warnings"]["count"] == 1 and figures["verifications"]["count"] == 1
    assert figures["on_time_rate"] == 100.0
    assert home.regulator_home(wuhan, dt.date(2025, 12, 1))["reviews"]["count"] == 1  # the municipal tier's
    gd = home.regulator_home(guangdong, dt.date(2025, 12, 1))
    assert (gd["reviews"]["count"], gd["warnings"]["count"], gd["verifications"]["count"]) == (1, 0, 1)
    assert {s.entity_id for s in gd["reviews"]["rows"]} == {other_entity.pk}

    admin_login(client, guangdong)
    with django_assert_max_num_queries(45):
        html = client.get("/home/").content.decode()
    assert other_entity.name in html and entity.name not in html


def test_verifier_home_lists_its_assignments_by_status(client, verifier, agency, entity, other_entity):
    from tests import factories as f

    Verification.objects.create(entity=entity, year=2024, agency=agency, status=Verification.Status.IN_PROGRESS)
    Verification.objects.create(entity=entity, year=2023, agency=agency, status=Verification.Status.CONFIRMED,
                                verified_emissions_tco2=Decimal("1"))
    Verification.objects.create(entity=other_entity, year=2024, agency=f.OrganisationFactory(name="别家核查"),
                                status=Verification.Status.IN_PROGRESS)
    figures = home.verifier_home(verifier)
    assert [(g["status"], g["count"]) for g in figures["groups"]] == [("in_progress", 1), ("confirmed", 1)]
    client.force_login(verifier)
    html = client.get("/home/").content.decode()
    assert entity.name in html and other_entity.name not in html


def test_risk_warning_notifies_the_entity_users(only_2024, entity, entity_user, other_entity_user, give):
    from cets.common.models import Notification
    from compliance import services

    monthly(entity, entity_user, 2024, range(1, 13), "100000")
    give(entity, 2024, 1_000_000)
    services.risk_scan(cycle=only_2024, on_date=dt.date(2025, 10, 5), entity_ids=[entity.pk])  # 87 days: 90
    [note] = Notification.objects.filter(user__entity__isnull=False)  # the issuances told the regulators
    assert (note.user_id, note.kind) == (entity_user.pk, "deadline")
    assert note.text == "90-day warning for 2024: short by 200000 t before 2025-12-31."
