"""Working and trading days around National Day 2024, and a regulator's amendment that sticks."""

import datetime as dt

import pytest

from cets.common.calendar import (
    add_working_days,
    calendar_ensure_year,
    is_trading_day,
    is_working_day,
    next_trading_day,
    working_days_between,
)
from cets.common.errors import DomainError, Forbidden
from cets.common.models import AuditEntry, CalendarDay
from cets.common.services import calendar_day_amend

pytestmark = pytest.mark.django_db

D = dt.date


def test_national_day_is_a_holiday_from_the_library():
    assert not is_working_day(D(2024, 10, 1))
    assert not is_trading_day(D(2024, 10, 1))
    day = CalendarDay.objects.get(date=D(2024, 10, 1))
    assert (day.holiday_name, day.source) == ("National Day", "library")
    assert CalendarDay.objects.filter(date__year=2024).count() == 366


def test_sunday_make_up_day_is_working_but_not_trading():
    assert D(2024, 9, 29).weekday() == 6
    assert is_working_day(D(2024, 9, 29))
    assert not is_trading_day(D(2024, 9, 29))
    assert is_trading_day(D(2024, 9, 30))


def test_add_working_days_across_national_day():
    assert add_working_days(D(2024, 9, 30), 1) == D(2024, 10, 8)
    assert add_working_days(D(2024, 9, 27), 1) == D(2024, 9, 29)  # the Sunday make-up day counts
    # Oct 8-11 (4), Sat Oct 12 make-up (5), Mon Oct 14 (6)
    assert add_working_days(D(2024, 9, 30), 6) == D(2024, 10, 14)
    assert add_working_days(D(2024, 9, 30), 0) == D(2024, 9, 30)
    assert working_days_between(D(2024, 9, 27), D(2024, 10, 8)) == 3  # Sep 29, Sep 30, Oct 8


def test_next_trading_day_skips_holiday_and_make_up_weekend():
    assert next_trading_day(D(2024, 9, 27)) == D(2024, 9, 30)
    assert next_trading_day(D(2024, 9, 30)) == D(2024, 10, 8)
    assert next_trading_day(D(2024, 10, 11)) == D(2024, 10, 14)  # Sat Oct 12 works, exchanges shut
    assert next_trading_day(D(2024, 10, 8), include_today=True) == D(2024, 10, 8)


def test_year_unknown_to_the_library_is_filled_weekdays_for_review():
    assert calendar_ensure_year(2031) == 365
    assert CalendarDay.objects.filter(date__year=2031, source="manual").count() == 365
    assert is_trading_day(D(2031, 1, 1))  # a Wednesday; the regulator amends it once holidays are announced
    assert calendar_ensure_year(2031) == 0


def test_manual_amendment_survives_refilling_the_year(national):
    day = calendar_day_amend(actor=national, date=D(2031, 1, 1), is_working_day=False, is_trading_day=False,
                             holiday_name="New Year's Day")
    assert day.source == "manual"
    added = calendar_ensure_year(2031)
    assert added == 364
    assert not is_working_day(D(2031, 1, 1))
    assert next_trading_day(D(2030, 12, 31)) == D(2031, 1, 2)
    entry = AuditEntry.objects.get(action="calendar.amend")
    assert entry.before is None
    assert entry.after == {"date": "2031-01-01", "is_working_day": False, "is_trading_day": False,
                           "holiday_name": "New Year's Day", "source": "manual"}


def test_amending_a_library_day_records_before_and_after(national):
    is_working_day(D(2024, 10, 8))
    calendar_day_amend(actor=national, date=D(2024, 10, 8), is_working_day=False, is_trading_day=False,
                       holiday_name="Typhoon closure")
    entry = AuditEntry.objects.get(action="calendar.amend")
    assert entry.before["source"] == "library" and entry.before["is_trading_day"] is True
    assert entry.after["holiday_name"] == "Typhoon closure"
    assert add_working_days(D(2024, 9, 30), 1) == D(2024, 10, 9)
    calendar_ensure_year(2024)
    assert CalendarDay.objects.get(date=D(2024, 10, 8)).source == "manual"


@pytest.mark.parametrize(
    ("working", "trading", "date", "field"),
    [(False, True, D(2031, 1, 6), "is_trading_day"), (True, True, D(2031, 1, 4), "is_trading_day")],
)
def test_amendment_rules(national, working, trading, date, field):
    with pytest.raises(DomainError) as exc:
        calendar_day_amend(actor=national, date=date, is_working_day=working, is_trading_day=trading)
    assert exc.value.field == field
    assert CalendarDay.objects.filter(date=date).count() == 0
    assert AuditEntry.objects.count() == 0


def test_only_the_national_regulator_amends(hubei):
    with pytest.raises(Forbidden):
        calendar_day_amend(actor=hubei, date=D(2031, 1, 1), is_working_day=False, is_trading_day=False)
    assert CalendarDay.objects.count() == 0
