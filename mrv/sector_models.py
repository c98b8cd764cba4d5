"""Verified figures of the facilities of the industrial sectors (steel enterprise, clinker line, aluminium
electrolysis process): what their allocation formulas consume, beside power's ``VerifiedUnitValue``.

Kept apart from ``mrv.models`` for size; imported there, so ``mrv.models.VerifiedFacilityValue`` works.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def _dec(digits: int, places: int, label, **kw) -> models.DecimalField:
    return models.DecimalField(label, max_digits=digits, decimal_places=places, **kw)


class VerifiedFacilityValue(models.Model):
    """The verified figures of one non-power facility for the year (the agency's, confirmed by the province).

    ``intensity_emissions_tco2`` / ``intensity_output_t`` feed the allocation intensity (steel: sintering +
    ironmaking balance over ironmaking output; cement and aluminium: the facility's emissions over its
    clinker or aluminium liquid). ``carbide_slag_rate`` is the cement line's substitution rate (exemption).
    """

    verification = models.ForeignKey("mrv.Verification", on_delete=models.CASCADE, related_name="facility_values")
    unit = models.ForeignKey("entities.Unit", on_delete=models.PROTECT, related_name="verified_facility_values")
    emissions_tco2 = _dec(15, 3, _("verified emissions (tCO2e)"))
    output_t = _dec(15, 3, _("output (t)"))
    intensity_emissions_tco2 = _dec(15, 3, _("emissions for the intensity (tCO2e)"))
    intensity_output_t = _dec(15, 3, _("output for the intensity (t)"))
    carbide_slag_rate = _dec(6, 4, _("carbide-slag substitution rate"), null=True, blank=True)
    gases = models.JSONField(_("emissions by gas (tCO2e)"), default=dict, blank=True)

    class Meta:
        verbose_name = _("verified facility value")
        verbose_name_plural = _("verified facility values")
        constraints = [
            models.UniqueConstraint(fields=["verification", "unit"], name="mrv_verifiedfacilityvalue_one_per_unit"),
            models.CheckConstraint(condition=Q(emissions_tco2__gte=0, output_t__gte=0, intensity_emissions_tco2__gte=0,
                                               intensity_output_t__gte=0),
                                   name="mrv_verifiedfacilityvalue_non_negative"),
            models.CheckConstraint(condition=Q(carbide_slag_rate__isnull=True)
                                   | Q(carbide_slag_rate__gte=0, carbide_slag_rate__lte=1),
                                   name="mrv_verifiedfacilityvalue_rate_fraction"),
        ]

    def __str__(self):
        return f"{self.verification_id} {self.unit_id}"
