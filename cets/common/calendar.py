"""Working days and trading days, from one table every deadline and session uses.

The table is filled a year at a time from the chinesecalendar library (public holidays and the
make-up working days that move weekends). For a year the library does not know yet the days are
filled as plain Monday-Friday with ``source = manual`` left to the regulator to correct in the admin.
Trading days follow the Shanghai exchanges: working days Monday to Friday only.
"""

import datetime as dt
from functools import lru_cache

from django.db import transaction

from .models import CalendarDay


def _library_day(day: dt.date) -> tuple[bool, str] | None:
    import chinese_calendar

    try:
        working = chinese_calendar.is_workday(day)
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return working, (name or "")


@lru_cache(maxsize=64)
def _year_known(year: int) -> bool:
    return CalendarDay.objects.filter(date__year=year).count() >= 365


def calendar_forget_years() -> None:
    """Forget which years are known to be filled (after a rollback that may have undone a fill)."""
    _year_known.cache_clear()


def calendar_ensure_year(year: int) -> int:
    """Fill a year's days if missing; never overwrite a regulator's amendment. Returns rows added."""
    if _year_known(year):
        return 0
    existing = set(CalendarDay.objects.filter(date__year=year).values_list("date", flat=True))
    rows = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        if day not in existing:
            known = _library_day(day)
            if known is None:
                working, name, source = day.weekday() < 5, "", CalendarDay.Source.MANUAL
            else:
                (working, name), source = known, CalendarDay.Source.LIBRARY
            rows.append(CalendarDay(date=day, is_working_day=working, holiday_name=name, source=source,
                                    is_trading_day=working and day.weekday() < 5))
        day += dt.timedelta(days=1)
    with transaction.atomic():
        CalendarDay.objects.bulk_create(rows, ignore_conflicts=True)
    _year_known.cache_clear()
    return len(rows)


def _days(start: dt.date, end: dt.date) -> dict[dt.date, CalendarDay]:
    for year in range(start.year, end.year + 1):
        calendar_ensure_year(year)
    return {d.date: d for d in CalendarDay.objects.filter(date__gte=start, date__lte=end)}


def is_working_day(day: dt.date) -> bool:
    return _days(day, day)[day].is_working_day


def is_trading_day(day: dt.date) -> bool:
    return _days(day, day)[day].is_trading_day


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The n-th working day after ``start`` (n >= 1); n == 0 returns ``start`` itself."""
    if n <= 0:
        return start
    span = start + dt.timedelta(days=n * 2 + 40)
    days = _days(start + dt.timedelta(days=1), span)
    count = 0
    day = start
    while True:
        day += dt.timedelta(days=1)
        if days[day].is_working_day:
            count += 1
            if count == n:
                return day


def next_trading_day(day: dt.date, *, include_today: bool = False) -> dt.date:
    days = _days(day, day + dt.timedelta(days=40))
    probe = day if include_today else day + dt.timedelta(days=1)
    while not days[probe].is_trading_day:
        probe += dt.timedelta(days=1)
    return probe


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: how many working days have passed since ``start``."""
    if end <= start:
        return 0
    return sum(1 for d in _days(start + dt.timedelta(days=1), end).values() if d.is_working_day)
