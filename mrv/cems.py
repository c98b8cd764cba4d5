"""CEMS: monitoring points, hourly ingestion (COPY into a month-partitioned table), CO2 mass, substitution,
monthly totals and completeness, and the monthly comparison with the accounting that feeds early warnings.

Hourly CO2 mass (HJ 75-2017 mass emission rate, applied to CO2 as in the MEE's 2021 CO2 CEMS pilots):

    t CO2 = c/100 [m3 CO2 / m3] x Q [m3/h, standard dry] x 1 h x 44/22.4 [kg/m3] / 1000

c is the dry-basis CO2 concentration in % by volume and Q the flue-gas flow at standard conditions
(273.15 K, 101.325 kPa) on a dry basis; 44/22.4 kg/m3 is the density of CO2 at standard conditions.

Substitution of hours that are not valid (invalid, maintenance, calibration, missing, or never sent),
after HJ 75-2017's data-substitution table for missing periods, applied to the hourly mass:

* a gap of at most 24 hours: the mean of the valid hour just before and the valid hour just after it;
* a longer gap, or one not yet closed by a valid hour: the maximum of the (up to) 720 valid hours preceding it;
* no valid hour before the gap: the maximum valid hour of the month (conservative: never zero while data exist).
"""

import datetime as dt
import io
import zoneinfo

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record, audit_record_many
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from cets.common.locks import lock_rows
from entities.models import Unit, User
from entities.selectors import scope_by_entity

from .cems_models import CemsHour, HourStatus, MonitoringPoint
from .models import MonthlySubmission, WarningRule

CO2_DENSITY = 44 / 22.4  # kg/m3 at 273.15 K and 101.325 kPa
SHORT_GAP_HOURS = 24
LOOKBACK_VALID_HOURS = 720
VALUES = ["co2_pct", "flow_nm3h", "temp_c", "pressure_kpa", "moisture_pct", "o2_pct"]
COLUMNS = ["point_id", "hour", *VALUES, "status"]
LOCAL = zoneinfo.ZoneInfo(settings.TIME_ZONE)
HOUR = pd.Timedelta(hours=1)


# ---- points ------------------------------------------------------------------------------------------

def points_visible_to(user):
    return scope_by_entity(MonitoringPoint.objects.select_related("entity", "unit"), user)


@transaction.atomic
def point_propose(*, actor: User, unit: Unit, code: str, device: str, certified_on: dt.date,
                  commissioned_on: dt.date) -> MonitoringPoint:
    """The entity proposes a measuring point on one of its facilities; the province approves it."""
    if not actor.acting_entity_id or unit.entity_id != actor.acting_entity_id:
        raise NotFound(_("No such facility among those you act for."), field="unit")
    if commissioned_on < certified_on:
        raise DomainError(_("A point is commissioned after its suitability test."), "before_certification",
                          "commissioned_on")
    if MonitoringPoint.objects.filter(entity_id=unit.entity_id, code=code).exists():
        raise Conflict(_("This entity already has a point with this code."), "duplicate", "code")
    point = MonitoringPoint.objects.create(entity_id=unit.entity_id, unit=unit, code=code, device=device,
                                           certified_on=certified_on, commissioned_on=commissioned_on,
                                           proposed_by=actor)
    audit_record(actor=actor, action="mrv.cems.point.propose", obj=point, after={"code": code, "unit": unit.code})
    return point


@transaction.atomic
def point_review(*, actor: User, point: MonitoringPoint, approve: bool, comment: str = "") -> MonitoringPoint:
    """The entity's provincial regulator approves or returns a proposed point."""
    if actor.role != User.Role.PROVINCIAL_REGULATOR or actor.province_id != point.entity.province_id:
        raise Forbidden(_("Only the entity's provincial regulator reviews its monitoring points."))
    if not approve and not comment.strip():
        raise DomainError(_("Say why the point is returned."), "required", "comment")
    [point] = lock_rows(MonitoringPoint.objects.filter(pk=point.pk))
    if point.status != MonitoringPoint.Status.PROPOSED:
        raise Conflict(_("This point was already reviewed."), "already_reviewed", "status")
    point.status = MonitoringPoint.Status.APPROVED if approve else MonitoringPoint.Status.RETURNED
    point.reviewed_by, point.review_comment = actor, comment
    point.save(update_fields=["status", "reviewed_by", "review_comment"])
    audit_record(actor=actor, action="mrv.cems.point.review", obj=point, after={"status": point.status})
    return point


# ---- ingestion ---------------------------------------------------------------------------------------

def _refuse(frame: pd.DataFrame, bad, field: str, message: str, code: str):
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        row = int(frame.index[bad.argmax()])
        raise DomainError(message, code, f"rows[{row}].{field}")


def hours_frame(*, entity_id: int, rows, now: dt.datetime | None = None) -> pd.DataFrame:
    """Validate the rows (dicts or a frame with ``point`` codes) into stored columns, or refuse the first bad one.

    Hours without an offset are China Standard Time. Refused (400 naming ``rows[i].field``): unknown or
    unapproved points (another entity's point is unknown here), hours not on the hour, in the future or not
    increasing per point, unknown status, negative flow, concentrations outside 0-100 %, a valid hour without
    concentration or flow.
    """
    now = now or timezone.now()
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty:
        raise DomainError(_("Send at least one hour."), "required", "rows")
    frame = frame.reset_index(drop=True)
    for column in ("point", "hour", "status"):
        if column not in frame:
            raise DomainError(_("This column is required."), "required", f"rows[0].{column}")
    points = dict(MonitoringPoint.objects.filter(entity_id=entity_id).values_list("code", "pk"))
    approved = set(MonitoringPoint.objects.filter(entity_id=entity_id, status=MonitoringPoint.Status.APPROVED)
                   .values_list("pk", flat=True))
    out = pd.DataFrame(index=frame.index)
    out["point_id"] = frame["point"].astype(str).map(points)
    _refuse(frame, out["point_id"].isna(), "point", _("No such monitoring point of your entity."), "unknown_point")
    _refuse(frame, ~out["point_id"].isin(approved), "point", _("This point is not approved by the province."),
            "not_approved")
    text = frame["hour"].astype(str).str.strip()
    text = text.where(text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True), text + "+08:00")
    out["hour"] = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    _refuse(frame, out["hour"].isna(), "hour", _("Give the hour as an ISO 8601 date and time."), "invalid")
    _refuse(frame, out["hour"] != out["hour"].dt.floor("h"), "hour", _("Hours start on the hour."), "not_on_hour")
    _refuse(frame, out["hour"] + HOUR > pd.Timestamp(now), "hour", _("This hour has not ended yet."), "in_future")
    previous = out.groupby("point_id")["hour"].shift()
    _refuse(frame, previous.notna() & (out["hour"] <= previous), "hour",
            _("Hours of a point must be sent in increasing order, each once."), "out_of_order")
    _refuse(frame, ~frame["status"].isin(HourStatus.values), "status", _("Unknown hour status."), "invalid_choice")
    out["status"] = frame["status"]
    for column in VALUES:
        raw = frame[column] if column in frame else pd.Series(None, index=frame.index, dtype=object)
        raw = raw.replace("", None)
        out[column] = pd.to_numeric(raw, errors="coerce")
        _refuse(frame, raw.notna() & out[column].isna(), column, _("Not a number."), "invalid")
    for column in ("co2_pct", "o2_pct", "moisture_pct"):
        _refuse(frame, (out[column] < 0) | (out[column] > 100), column,
                _("A concentration is between 0 and 100 percent by volume."), "out_of_range")
    _refuse(frame, out["flow_nm3h"] < 0, "flow_nm3h", _("A flow cannot be negative."), "negative")
    valid = out["status"] == HourStatus.VALID
    for column in ("co2_pct", "flow_nm3h"):
        _refuse(frame, valid & out[column].isna(), column, _("A valid hour needs this value."), "required")
    out["point_id"] = out["point_id"].astype("int64")
    return out[COLUMNS]


def _ensure_partitions(hours: pd.Series) -> None:
    """PostgreSQL: create the month partitions the batch needs (advisory-locked, so concurrent loads agree)."""
    months = sorted(set(zip(hours.dt.year, hours.dt.month, strict=True)))
    with connection.cursor() as cursor:
        for year, month in months:
            nxt = (year + month // 12, month % 12 + 1)
            cursor.execute("SELECT pg_advisory_xact_lock(75, %s)", [year * 100 + month])
            cursor.execute(f"CREATE TABLE IF NOT EXISTS mrv_cemshour_{year}{month:02d} PARTITION OF mrv_cemshour "
                           f"FOR VALUES FROM ('{year}-{month:02d}-01 00:00+00') "
                           f"TO ('{nxt[0]}-{nxt[1]:02d}-01 00:00+00')")


def _load(frame: pd.DataFrame, table: str) -> None:
    """Write the frame's rows into ``table`` (COPY on PostgreSQL, which routes rows to the month partitions)."""
    postgres = connection.vendor == "postgresql"
    data = frame.copy()
    data["hour"] = data["hour"].dt.strftime("%Y-%m-%d %H:%M:%S+00" if postgres else "%Y-%m-%d %H:%M:%S")
    with connection.cursor() as cursor:
        if postgres:
            buffer = io.StringIO()
            data.to_csv(buffer, index=False, header=False, na_rep="\\N", sep="\t")
            buffer.seek(0)
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN", buffer)
        else:
            rows = data.astype(object).where(data.notna(), None).itertuples(index=False, name=None)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * 9)})",
                               list(rows))


def _overlaps(frame: pd.DataFrame, point_ids: list[int]) -> bool:
    """Whether any stored hour of these points falls in the batch's time span (a resend or a correction)."""
    return CemsHour.objects.filter(point_id__in=point_ids, hour__gte=frame["hour"].min().to_pydatetime(),
                                   hour__lte=frame["hour"].max().to_pydatetime()).exists()


DIFFERS = " OR ".join(f"h.{c} IS DISTINCT FROM s.{c}" for c in [*VALUES, "status"])


def _upsert(frame: pd.DataFrame) -> tuple[int, list]:
    """Stage the batch, read the stored hours it changes, then insert or update: (existing hours, changes)."""
    like = "(LIKE mrv_cemshour INCLUDING DEFAULTS)" if connection.vendor == "postgresql" else \
        "AS SELECT * FROM mrv_cemshour WHERE 0"
    on = "h.point_id = s.point_id AND h.hour = s.hour"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE cems_stage {like}")
        _load(frame, "cems_stage")
        cursor.execute(f"SELECT count(*) FROM cems_stage s JOIN mrv_cemshour h ON {on}")
        existing = cursor.fetchone()[0]
        cursor.execute(f"SELECT s.point_id, s.hour, {', '.join(f'h.{c}' for c in [*VALUES, 'status'])}, "
                       f"{', '.join(f's.{c}' for c in [*VALUES, 'status'])} FROM cems_stage s "
                       f"JOIN mrv_cemshour h ON {on} WHERE {DIFFERS}")
        changed = cursor.fetchall()
        updates = ", ".join(f"{c} = excluded.{c}" for c in [*VALUES, "status"])
        cursor.execute(f"INSERT INTO mrv_cemshour AS h ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} "
                       f"FROM cems_stage WHERE true ON CONFLICT (point_id, hour) DO UPDATE SET {updates} "
                       f"WHERE {DIFFERS.replace('s.', 'excluded.')}")
        cursor.execute("DROP TABLE cems_stage")
    return existing, changed


@transaction.atomic
def hours_ingest(*, actor: User, rows, now: dt.datetime | None = None) -> dict:
    """Store an entity's hours idempotently per point and hour: a resend never doubles; a resend with other
    values replaces the stored hour and the change is audited (before/after). All or nothing."""
    if not actor.acting_entity_id:
        raise NotFound(_("Only an entity's users send its monitoring data."), field="entity")
    frame = hours_frame(entity_id=actor.acting_entity_id, rows=rows, now=now)
    point_ids = sorted(set(frame["point_id"].tolist()))
    lock_rows(MonitoringPoint.objects.filter(pk__in=point_ids))  # one writer per point: audits see a stable past
    if connection.vendor == "postgresql":
        _ensure_partitions(frame["hour"])
    if not _overlaps(frame, point_ids):  # new hours only (the points are locked): straight in
        _load(frame, "mrv_cemshour")
        existing, changed = 0, []
    else:
        existing, changed = _upsert(frame)
    names = [*VALUES, "status"]
    audit_record_many([{"actor": actor, "action": "mrv.cems.hour.change", "object_type": "mrv.cemshour",
                        "object_id": f"{row[0]}:{row[1]}", "before": dict(zip(names, row[2:9], strict=True)),
                        "after": dict(zip(names, row[9:], strict=True))} for row in changed])
    result = {"received": len(frame), "inserted": len(frame) - existing, "changed": len(changed),
              "unchanged": existing - len(changed)}
    audit_record(actor=actor, action="mrv.cems.ingest", object_type="mrv.monitoringpoint",
                 object_id=",".join(map(str, point_ids))[:60], after=result)
    return result


def hours_from_csv(content: bytes) -> pd.DataFrame:
    """A CSV with the header ``point,hour,co2_pct,flow_nm3h,temp_c,pressure_kpa,moisture_pct,o2_pct,status``."""
    try:
        return pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError(_("Not a readable CSV file."), "invalid", "file") from exc


# ---- mass, substitution, totals ----------------------------------------------------------------------

def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """A month in China Standard Time (the accounting's months), as aware datetimes."""
    nxt = (year + month // 12, month % 12 + 1)
    return dt.datetime(year, month, 1, tzinfo=LOCAL), dt.datetime(*nxt, 1, tzinfo=LOCAL)


def hourly_mass(point_ids: list[int], year: int, month: int, now: dt.datetime | None = None) -> pd.DataFrame:
    """Every hour of the month (up to now) per point: measured mass of valid hours, substitutes for the others.

    Columns: point_id, hour (UTC), status (``never_sent`` for hours without a row), co2_t, substituted (bool).
    """
    start, end = month_bounds(year, month)
    end = min(end, (now or timezone.now()).replace(minute=0, second=0, microsecond=0))
    lookback = start - dt.timedelta(hours=LOOKBACK_VALID_HOURS * 2)
    stored = pd.DataFrame(list(CemsHour.objects.filter(point_id__in=point_ids, hour__gte=lookback, hour__lt=end)
                               .values_list("point_id", "hour", "co2_pct", "flow_nm3h", "status")),
                          columns=["point_id", "hour", "co2_pct", "flow_nm3h", "status"])
    stored["hour"] = pd.to_datetime(stored["hour"], utc=True)
    stored["measured"] = np.where(stored["status"] == HourStatus.VALID,
                                  stored["co2_pct"].astype(float) / 100 * stored["flow_nm3h"].astype(float)
                                  * CO2_DENSITY / 1000, np.nan)
    hours = pd.date_range(pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC"),
                          freq="h", inclusive="left")
    parts = []
    for point_id in point_ids:
        own = stored[stored["point_id"] == point_id].set_index("hour")
        before = own.loc[own.index < pd.Timestamp(start), "measured"].dropna()
        frame = pd.DataFrame(index=hours)
        frame["point_id"] = point_id
        frame["status"] = own["status"].reindex(hours).fillna("never_sent")
        frame["measured"] = own["measured"].reindex(hours)
        parts.append(_substitute(frame, before.tail(LOOKBACK_VALID_HOURS)))
    if not parts:
        return pd.DataFrame(columns=["point_id", "hour", "status", "co2_t", "substituted"])
    return pd.concat(parts).rename_axis("hour").reset_index()


def _substitute(frame: pd.DataFrame, before: pd.Series) -> pd.DataFrame:
    measured = frame["measured"]
    gap = measured.isna()
    frame["substituted"] = gap
    if not gap.any():
        frame["co2_t"] = measured
        return frame.drop(columns="measured")
    run = (gap != gap.shift()).cumsum()
    length = gap.groupby(run).transform("size")
    history = pd.concat([before, measured])
    # previous valid hour (from the month or the look-back), next valid hour (None while the gap is open)
    prev_valid = history.ffill().iloc[len(before):]
    next_valid = measured.bfill()
    rolling_max = history.dropna().rolling(LOOKBACK_VALID_HOURS, min_periods=1).max()
    prior_max = rolling_max.reindex(history.index).ffill().iloc[len(before):]
    short = gap & (length <= SHORT_GAP_HOURS) & prev_valid.notna() & next_valid.notna()
    substitute = pd.Series(np.where(short, (prev_valid + next_valid) / 2, prior_max), index=frame.index)
    month_max = measured.max()
    substitute = substitute.fillna(month_max if pd.notna(month_max) else 0.0)
    frame["co2_t"] = measured.where(~gap, substitute)
    return frame.drop(columns="measured")


def point_month(point: MonitoringPoint, year: int, month: int, now: dt.datetime | None = None) -> dict:
    """A point's month: CO2 (t, substitutes included), substituted hours, completeness and daily totals."""
    hours = hourly_mass([point.pk], year, month, now)
    return _summary(hours)


def _summary(hours: pd.DataFrame) -> dict:
    expected = len(hours)
    valid = int((hours["status"] == HourStatus.VALID).sum())
    local_day = pd.to_datetime(hours["hour"], utc=True).dt.tz_convert(LOCAL).dt.date
    daily = hours.groupby(local_day)["co2_t"].sum() if expected else pd.Series(dtype=float)
    return {"co2_t": round(float(hours["co2_t"].sum()), 3), "hours": expected, "valid_hours": valid,
            "substituted_hours": int(hours["substituted"].sum()),
            "completeness": round(valid / expected, 4) if expected else None,
            "daily": [{"date": d.isoformat(), "co2_t": round(float(v), 3)} for d, v in daily.items()]}


def facility_month(unit: Unit, year: int, month: int, now: dt.datetime | None = None) -> dict:
    """The facility's CEMS month (its approved points together) beside its current accounting submission."""
    point_ids = list(unit.cems_points.filter(status=MonitoringPoint.Status.APPROVED).values_list("pk", flat=True))
    summary = _summary(hourly_mass(point_ids, year, month, now))
    sub = MonthlySubmission.objects.filter(unit=unit, year=year, month=month, is_current=True).first()
    accounting = float(sub.emissions_tco2) if sub and sub.emissions_tco2 is not None else None
    summary.update(points=len(point_ids), accounting_tco2=accounting, submission_id=sub.pk if sub else None,
                   deviation=round((summary["co2_t"] - accounting) / accounting, 4) if accounting else None)
    return summary


def compare_month(year: int, month: int, now: dt.datetime | None = None) -> dict:
    """Compare every monitored facility's month with its accounting; deviations above the sector's threshold
    (rule ``cems_deviation``, thresholds by sector code or ``default``) become early warnings with both figures.
    Months whose completeness is below ``min_completeness`` are not judged (the substitutes would decide)."""
    from .early_warnings import _store_findings  # the warnings loop's one writer of findings

    rule = WarningRule.objects.filter(code="cems_deviation", enabled=True).first()
    if rule is None:
        return {}
    limits = rule.thresholds or {}
    findings = []
    units = Unit.objects.filter(cems_points__status=MonitoringPoint.Status.APPROVED).distinct()
    for unit in units.select_related("entity"):
        month_data = facility_month(unit, year, month, now)
        limit = float(limits.get(unit.sector_id, limits.get("default", "0.10")))
        complete = (month_data["completeness"] or 0) >= float(limits.get("min_completeness", "0.75"))
        if month_data["deviation"] is None or not complete or abs(month_data["deviation"]) <= limit:
            continue
        message = _("CEMS measured %(cems)s t CO2 against %(acc)s t in the accounting (%(dev)s, limit %(lim)s).") % {
            "cems": f"{month_data['co2_t']:,.1f}", "acc": f"{month_data['accounting_tco2']:,.1f}",
            "dev": f"{month_data['deviation']:+.1%}", "lim": f"{limit:.0%}"}
        details = {k: month_data[k] for k in ("co2_t", "accounting_tco2", "deviation", "completeness",
                                              "substituted_hours", "points")} | {"threshold": limit}
        findings.append(("cems_deviation", (month_data["submission_id"], unit.pk, unit.entity_id, year, month,
                                            message, details)))
    return _store_findings(findings, {"cems_deviation": rule}, (now or timezone.now()).astimezone(LOCAL).date())
