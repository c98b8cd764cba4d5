"""CEMS (issue 18): points, hourly ingestion, mass, substitution, completeness and the accounting comparison."""

import datetime as dt
from unittest import mock

import pytest

from cets.common.errors import DomainError, Forbidden, NotFound
from cets.common.models import AuditEntry
from mrv import cems, services
from mrv.cems_models import CemsHour, MonitoringPoint
from mrv.models import EarlyWarning

from .conftest import month_row

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 6, 20, tzinfo=dt.UTC)
HOUR_T = 0.12 * 1_000_000 * 44 / 22.4 / 1000  # 12 % CO2 at 1,000,000 Nm3/h: 235.714 t


def rows(code="P1", start=dt.datetime(2024, 4, 1), n=3, co2=12.0, flow=1_000_000.0, status="valid"):
    """``n`` consecutive hours from ``start`` (China Standard Time, no offset: the default)."""
    return [{"point": code, "hour": (start + dt.timedelta(hours=i)).isoformat(), "co2_pct": co2, "flow_nm3h": flow,
             "temp_c": 120, "pressure_kpa": 101.2, "moisture_pct": 8.5, "o2_pct": 6.0, "status": status}
            for i in range(n)]


def approved_point(entity_user, unit, hubei):
    proposed = cems.point_propose(actor=entity_user, unit=unit, code="P1", device="SICK MCS100E HW #A123",
                                  certified_on=dt.date(2023, 11, 1), commissioned_on=dt.date(2023, 12, 1))
    return cems.point_review(actor=hubei, point=proposed, approve=True)


@pytest.fixture
def point(entity_user, unit, hubei):
    return approved_point(entity_user, unit, hubei)


def ingest(user, data):
    return cems.hours_ingest(actor=user, rows=data, now=NOW)


def test_point_is_proposed_by_the_entity_and_approved_by_its_province(point, entity_user, unit, guangdong,
                                                                       other_entity_user):
    assert point.status == MonitoringPoint.Status.APPROVED
    second = cems.point_propose(actor=entity_user, unit=unit, code="P2", device="x", certified_on=dt.date(2024, 1, 1),
                                commissioned_on=dt.date(2024, 1, 2))
    with pytest.raises(Forbidden):
        cems.point_review(actor=guangdong, point=second, approve=True)
    with pytest.raises(NotFound):
        cems.point_propose(actor=other_entity_user, unit=unit, code="X", device="x",
                           certified_on=dt.date(2024, 1, 1), commissioned_on=dt.date(2024, 1, 2))
    with pytest.raises(DomainError) as exc:
        cems.point_propose(actor=entity_user, unit=unit, code="P3", device="x", certified_on=dt.date(2024, 2, 1),
                           commissioned_on=dt.date(2024, 1, 1))
    assert exc.value.field == "commissioned_on"


def test_resend_never_doubles_and_a_changed_hour_wins_and_is_audited(point, entity_user):
    assert ingest(entity_user, rows(n=3)) == {"received": 3, "inserted": 3, "changed": 0, "unchanged": 0}
    assert ingest(entity_user, rows(n=3)) == {"received": 3, "inserted": 0, "changed": 0, "unchanged": 3}
    again = rows(n=4)
    again[1]["co2_pct"] = 11.5
    assert ingest(entity_user, again) == {"received": 4, "inserted": 1, "changed": 1, "unchanged": 2}
    assert CemsHour.objects.filter(point=point).count() == 4
    hour = dt.datetime(2024, 4, 1, 1, tzinfo=cems.LOCAL)
    assert CemsHour.objects.get(point=point, hour=hour).co2_pct == 11.5
    entry = AuditEntry.objects.get(action="mrv.cems.hour.change")
    assert entry.before["co2_pct"] == 12.0 and entry.after["co2_pct"] == 11.5


@pytest.mark.parametrize(("index", "change", "field", "code"), [
    (1, {"point": "NOPE"}, "point", "unknown_point"),
    (2, {"hour": "2024-06-20T08:30:00+08:00"}, "hour", "not_on_hour"),
    (2, {"hour": "2024-06-20T09:00:00+08:00"}, "hour", "in_future"),
    (2, {"hour": "2024-04-01T00:00:00"}, "hour", "out_of_order"),
    (1, {"flow_nm3h": -5}, "flow_nm3h", "negative"),
    (0, {"co2_pct": 100.5}, "co2_pct", "out_of_range"),
    (1, {"co2_pct": "abc"}, "co2_pct", "invalid"),
    (1, {"status": "broken"}, "status", "invalid_choice"),
    (1, {"co2_pct": None}, "co2_pct", "required"),
])
def test_bad_input_is_refused_naming_the_row_and_field_and_nothing_is_stored(point, entity_user, index, change,
                                                                              field, code):
    data = rows(n=3)
    data[index].update(change)
    with pytest.raises(DomainError) as exc:
        ingest(entity_user, data)
    assert (exc.value.field, exc.value.code) == (f"rows[{index}].{field}", code)
    assert not CemsHour.objects.exists()


def test_another_entitys_point_is_unknown_to_a_sender(point, other_entity_user):
    with pytest.raises(DomainError) as exc:
        ingest(other_entity_user, rows(n=1))
    assert exc.value.field == "rows[0].point"


def test_mass_substitution_and_completeness(point, entity_user):
    # April 2024: 720 hours. 700 valid at 235.714 t; a 4-hour calibration gap between a 12 % and a 6 % hour
    # (short: mean of the neighbours); the month's last 16 hours never sent (open gap: max of prior valid hours).
    data = rows(n=704)
    for r in data[300:304]:
        r.update(status="calibration", co2_pct=None)
    data[299]["co2_pct"] = 12.0
    data[304]["co2_pct"] = 6.0
    ingest(entity_user, data)
    month = cems.point_month(point, 2024, 4, NOW)
    assert (month["hours"], month["valid_hours"], month["substituted_hours"]) == (720, 700, 20)
    assert month["completeness"] == round(700 / 720, 4)
    short = (HOUR_T + HOUR_T / 2) / 2
    expected = 699 * HOUR_T + HOUR_T / 2 + 4 * short + 16 * HOUR_T
    assert month["co2_t"] == round(expected, 3)
    assert month["daily"][0] == {"date": "2024-04-01", "co2_t": round(24 * HOUR_T, 3)}
    assert len(month["daily"]) == 30


def test_a_long_gap_takes_the_maximum_of_the_preceding_valid_hours(point, entity_user):
    data = rows(start=dt.datetime(2024, 3, 31), n=24 * 31)
    data[5]["co2_pct"] = 15.0  # 31 March: inside the 720-hour look-back
    for r in data[24:24 + 48]:  # 1-2 April: 48 hours invalid
        r.update(status="invalid")
    ingest(entity_user, data)
    hours = cems.hourly_mass([point.pk], 2024, 4, NOW)
    peak = 0.15 * 1_000_000 * 44 / 22.4 / 1000
    assert hours["co2_t"].iloc[:48].round(6).eq(round(peak, 6)).all()
    assert round(hours["co2_t"].iloc[48], 6) == round(HOUR_T, 6)


def _accounting(entity_user, unit):
    return services.submission_submit(actor=entity_user, unit=unit, year=2024, month=4,
                                      fuels=month_row(unit)["fuels"], today=dt.date(2024, 5, 5),
                                      **{k: v for k, v in month_row(unit).items()
                                         if k not in ("unit", "year", "month", "fuels")})


@pytest.mark.parametrize(("factor", "warned"), [(1.03, False), (1.25, True)])
def test_monthly_comparison_warns_above_the_sector_threshold_with_both_figures(point, entity_user, unit, factor,
                                                                                warned):
    sub = _accounting(entity_user, unit)
    accounting = float(sub.emissions_tco2)
    flow = accounting * factor / 720 * 1000 / (0.12 * 44 / 22.4)
    ingest(entity_user, rows(n=720, flow=round(flow, 3)))
    month = cems.facility_month(unit, 2024, 4, NOW)
    assert month["accounting_tco2"] == accounting
    assert month["deviation"] == pytest.approx(factor - 1, abs=1e-4)
    counts = cems.compare_month(2024, 4, NOW)
    warnings = list(EarlyWarning.objects.filter(rule__code="cems_deviation"))
    assert bool(warnings) is warned and counts == ({"cems_deviation": 1} if warned else {})
    if warned:
        [warning] = warnings
        assert (warning.unit_id, warning.month, warning.submission_id) == (unit.pk, 4, sub.pk)
        assert warning.details["accounting_tco2"] == accounting
        assert warning.details["co2_t"] == pytest.approx(accounting * factor, rel=1e-5)
        assert warning.details["threshold"] == 0.10
        assert cems.compare_month(2024, 4, NOW) == {}  # the open warning is not raised twice


def test_the_nightly_warning_job_compares_the_last_two_months(point, entity_user, unit):
    from cets.common.jobs import job_create
    from mrv.jobs import run_warnings_nightly

    _accounting(entity_user, unit)
    ingest(entity_user, rows(n=720, flow=2_000_000.0))  # far above the accounting
    job = job_create(kind="mrv.warnings_nightly", params={"years": []}, total=0)
    with mock.patch("mrv.jobs.timezone.localdate", return_value=dt.date(2024, 6, 3)), \
            mock.patch("mrv.cems.timezone.now", return_value=NOW):
        result = run_warnings_nightly(job)
    assert result["new_warnings"] == {"cems 2024-05": {}, "cems 2024-04": {"cems_deviation": 1}}
