"""Writes to platform tables that a person makes by hand (the calendar), audited like any other."""

from django.db import transaction
from django.utils.translation import gettext as _

from .audit import audit_record
from .errors import DomainError, Forbidden
from .models import CalendarDay

CALENDAR_EDITOR_ROLE = "national_regulator"


def _calendar_snapshot(day: CalendarDay) -> dict:
    return {"date": day.date.isoformat(), "is_working_day": day.is_working_day,
            "is_trading_day": day.is_trading_day, "holiday_name": day.holiday_name, "source": day.source}


@transaction.atomic
def calendar_day_amend(*, actor, date, is_working_day: bool, is_trading_day: bool,
                       holiday_name: str = "") -> CalendarDay:
    """A national regulator corrects one day (e.g. the State Council announced next year's holidays).

    The row becomes ``source = manual``, so refilling the year from the library never overwrites it,
    and the change is audited with the day before and after.
    """
    if not (getattr(actor, "is_superuser", False) or getattr(actor, "role", None) == CALENDAR_EDITOR_ROLE):
        raise Forbidden(_("Only the national regulator may amend the calendar."))
    if is_trading_day and not is_working_day:
        raise DomainError(_("A trading day must be a working day."), "trading_day_not_working", "is_trading_day")
    if is_trading_day and date.weekday() >= 5:
        raise DomainError(_("The exchanges do not open on a Saturday or Sunday."), "weekend_trading_day",
                          "is_trading_day")
    day = CalendarDay.objects.select_for_update().filter(date=date).first()
    before = _calendar_snapshot(day) if day else None
    if day is None:
        day = CalendarDay(date=date)
    day.is_working_day = is_working_day
    day.is_trading_day = is_trading_day
    day.holiday_name = holiday_name[:60]
    day.source = CalendarDay.Source.MANUAL
    day.save()
    audit_record(actor=actor, action="calendar.amend", obj=day, before=before, after=_calendar_snapshot(day))
    return day
