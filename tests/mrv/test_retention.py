"""MRV records are kept 5 years (cets.common.retention): a month cannot be deleted by any path before the period
ends; a record past it, or a draft never submitted, can."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from cets.common.errors import Conflict
from cets.common.retention import kept_until
from mrv import services
from mrv.models import AnnualReport, FuelRecord, MonthlySubmission

from .conftest import month_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(entity, entity_user):
    row = month_row(entity.units.get(code="HB-WH-01"))
    return services.submission_submit(actor=entity_user, today=dt.date(2024, 6, 20), **row)


def test_an_mrv_month_is_kept_five_years(month):
    assert kept_until(month, 5, "submitted_at") == timezone.localdate(month.submitted_at).replace(
        year=month.submitted_at.year + 5)
    with pytest.raises(Conflict) as refused, transaction.atomic():
        MonthlySubmission.objects.filter(pk=month.pk).delete()
    assert refused.value.code == "retention_period"
    with pytest.raises(Conflict), transaction.atomic():
        FuelRecord.objects.filter(submission=month).delete()
    assert MonthlySubmission.objects.filter(pk=month.pk).exists() and month.fuels.count() == 1


def test_past_its_period_a_record_may_go(month):
    MonthlySubmission.objects.filter(pk=month.pk).update(submitted_at=timezone.now() - dt.timedelta(days=5 * 366 + 1))
    MonthlySubmission.objects.filter(pk=month.pk).delete()
    assert not MonthlySubmission.objects.filter(pk=month.pk).exists()


def test_a_draft_never_submitted_has_no_period(entity, entity_user):
    draft = AnnualReport.objects.create(entity=entity, year=2024, emissions_tco2=0, due_date=dt.date(2025, 3, 31),
                                        compiled_by=entity_user)
    assert draft.submitted_at is None
    draft.delete()
    assert not AnnualReport.objects.filter(pk=draft.pk).exists()
