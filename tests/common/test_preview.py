"""``dry_run``: an action done and undone to show what it would do keeps nothing, caches included."""

import datetime as dt

import pytest

from cets.common.calendar import calendar_ensure_year, is_working_day
from cets.common.models import CalendarDay
from cets.common.preview import dry_run

pytestmark = pytest.mark.django_db


def test_dry_run_returns_the_result_and_keeps_no_row_nor_stale_cache():
    CalendarDay.objects.filter(date__year=2031).delete()
    assert dry_run(lambda: calendar_ensure_year(2031)) == 365
    assert not CalendarDay.objects.filter(date__year=2031).exists()
    assert is_working_day(dt.date(2031, 1, 6)) is True  # the year is filled again, not believed filled
    assert CalendarDay.objects.filter(date__year=2031).count() == 365
