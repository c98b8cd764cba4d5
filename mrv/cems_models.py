"""CEMS (continuous emission monitoring) beside the accounting: monitoring points and their hourly data.

Hourly rows follow HJ 75-2017 / HJ 76-2017: one row per point and hour, CO2 concentration in % by volume,
flue-gas flow at standard conditions (273.15 K, 101.325 kPa) on a dry basis in m3/h, flue-gas temperature,
static pressure, moisture and O2, and a status flag per hour. On PostgreSQL the table is range-partitioned
by month (``mrv.cems`` creates partitions on demand); retention: partitions are detached after the
10-year record keeping of the trading rules, never rows deleted one by one.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from entities.models import KeyEntity, Unit, User


class MonitoringPoint(models.Model):
    """A stack measuring point of a facility: the entity proposes it, its province approves it."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed by the entity")
        APPROVED = "approved", _("Approved by the province")
        RETURNED = "returned", _("Returned to the entity")
        RETIRED = "retired", _("Retired")

    entity = models.ForeignKey(KeyEntity, on_delete=models.PROTECT, related_name="cems_points",
                               verbose_name=_("entity"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="cems_points", verbose_name=_("facility"))
    code = models.CharField(_("point code"), max_length=40)
    device = models.CharField(_("analyser (maker, model, serial)"), max_length=200)
    certified_on = models.DateField(_("certified (suitability test) on"))
    commissioned_on = models.DateField(_("commissioned on"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    review_comment = models.CharField(_("review comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("CEMS monitoring point")
        verbose_name_plural = _("CEMS monitoring points")
        ordering = ["entity", "code"]
        constraints = [models.UniqueConstraint(fields=["entity", "code"], name="mrv_cemspoint_unique_code")]

    def __str__(self):
        return f"{self.entity.credit_code}/{self.code}"


class HourStatus(models.TextChoices):
    """The hour's data flag (HJ 75-2017 data marks, simplified to what the accounting needs)."""

    VALID = "valid", _("Valid")
    INVALID = "invalid", _("Invalid")
    MAINTENANCE = "maintenance", _("Maintenance")
    CALIBRATION = "calibration", _("Calibration")
    MISSING = "missing", _("Missing")


class CemsHour(models.Model):
    """One point's hour (hour = start of the hour, UTC). Created by raw SQL: partitioned by month on PostgreSQL."""

    pk = models.CompositePrimaryKey("point", "hour")
    # No database constraint: ingestion checks every point under its row lock, and a per-row FK check would
    # cost a seventh of a bulk load. Points are never deleted (their entity is PROTECTed).
    point = models.ForeignKey(MonitoringPoint, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    hour = models.DateTimeField(_("hour"))
    co2_pct = models.FloatField(_("CO2 (% vol, dry)"), null=True)
    flow_nm3h = models.FloatField(_("flow (m3/h, standard dry)"), null=True)
    temp_c = models.FloatField(_("temperature (°C)"), null=True)
    pressure_kpa = models.FloatField(_("pressure (kPa)"), null=True)
    moisture_pct = models.FloatField(_("moisture (%)"), null=True)
    o2_pct = models.FloatField(_("O2 (%)"), null=True)
    status = models.CharField(_("status"), max_length=12, choices=HourStatus.choices)

    class Meta:
        verbose_name = _("CEMS hour")
        verbose_name_plural = _("CEMS hours")

    def __str__(self):
        return f"{self.point_id} {self.hour:%Y-%m-%d %H:%M} {self.status}"
