"""Verified figures of non-power facilities: the agency's values checked, and stored beside power's.

An agency verifying a steel enterprise, clinker line or aluminium process gives per facility its verified
emissions and output and, where they differ, the intensity inputs (steel: sintering + ironmaking balance and
ironmaking output). Left blank, the intensity inputs are the sums of the facility's current months of the year
(what the entity recorded and the agency checked), and where the months carry none, the verified emissions and
output themselves (as the allocation calculator of issue 15 point 7 defaults them). ``carbide_slag_rate`` is a
cement line's (an exemption test of the plans), from its months' lines when the agency gives none. Power's
figures are refused for these facilities, naming the field, as these figures are refused for a generating unit.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db.models import Sum
from django.utils.translation import gettext as _

from cets.common.errors import DomainError
from entities.models import Unit

from .models import MonthlySubmission, Verification, VerifiedFacilityValue, VerifiedUnitValue

FACILITY_FIELDS = ("emissions_tco2", "output_t", "intensity_emissions_tco2", "intensity_output_t",
                   "carbide_slag_rate")
POWER_FIELDS = ("electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "load_factor",
                "heat_supply_ratio")
RATE_SECTOR = "cement"
FACILITY_ONLY = ("output_t", "intensity_emissions_tco2", "intensity_output_t", "carbide_slag_rate")


OPTIONAL = ("intensity_emissions_tco2", "intensity_output_t", "carbide_slag_rate")


def verified_fields(unit: Unit, power_fields: list[str]) -> list[str]:
    """The figures an agency enters for the facility (the portal's columns)."""
    if unit.is_generating_unit:
        return list(power_fields)
    return ["emissions_tco2", *FACILITY_ONLY[:3], *(["carbide_slag_rate"] if unit.sector_id == RATE_SECTOR else [])]


def _given(item: dict, name: str) -> bool:
    return item.get(name) not in (None, "")


def _number(item: dict, name: str, path: str, *, fraction: bool = False) -> Decimal:
    try:
        value = Decimal(str(item.get(name)).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(_("Must be a number."), "invalid_number", f"{path}.{name}")
    if not value.is_finite() or value < 0:
        raise DomainError(_("May not be negative."), "negative", f"{path}.{name}")
    if fraction and value > 1:
        raise DomainError(_("A fraction between 0 and 1."), "out_of_range", f"{path}.{name}")
    return value


def refuse_foreign(unit: Unit, item: dict, path: str) -> None:
    """A generating unit takes power's figures only; another facility its sector's only."""
    foreign = FACILITY_ONLY if unit.is_generating_unit else POWER_FIELDS
    if not unit.is_generating_unit and unit.sector_id != RATE_SECTOR:
        foreign = foreign + ("carbide_slag_rate",)
    for name in foreign:
        if _given(item, name):
            owner = "power" if name in POWER_FIELDS else (RATE_SECTOR if name == "carbide_slag_rate" else "")
            raise DomainError(_("%(f)s is not a verified figure of a %(s)s facility%(o)s.")
                              % {"f": name, "s": unit.sector_id, "o": f" ({owner})" if owner else ""},
                              "not_in_sector", f"{path}.{name}")


def facility_row(unit: Unit, item: dict, path: str, year: int) -> dict:
    """One facility's verified figures, checked, with the intensity inputs filled as the module docstring says."""
    refuse_foreign(unit, item, path)
    row = {"unit": unit, "emissions_tco2": _number(item, "emissions_tco2", path),
           "output_t": _number(item, "output_t", path)}
    months = MonthlySubmission.objects.filter(unit=unit, year=year, is_current=True).aggregate(
        e=Sum("intensity_emissions_tco2"), q=Sum("intensity_output_t"))
    for name, month_sum, fallback in (("intensity_emissions_tco2", months["e"], row["emissions_tco2"]),
                                      ("intensity_output_t", months["q"], row["output_t"])):
        row[name] = _number(item, name, path) if _given(item, name) else (
            month_sum if month_sum is not None else fallback)
    row["carbide_slag_rate"] = (_number(item, "carbide_slag_rate", path, fraction=True)
                                if _given(item, "carbide_slag_rate") else _months_carbide_rate(unit, year))
    row["gases"] = _gases(unit, year)
    return row


def _months_carbide_rate(unit: Unit, year: int) -> Decimal | None:
    """A cement line's carbide-slag rate over the year's months when the agency gives none: carbide slag x D over
    clinker x EF_clinker, both summed from the months' lines (plan S1 Table 2-3 note 5)."""
    if unit.sector_id != RATE_SECTOR:
        return None
    deducted, process = Decimal(0), Decimal(0)
    for lines in MonthlySubmission.objects.filter(unit=unit, year=year, is_current=True).values_list(
            "calculation", flat=True):
        for line in lines:
            if line.get("kind") == "clinker":
                process += Decimal(line["emissions_tco2"])
            elif line.get("kind") == "substitute" and line.get("material") == "carbide_slag":
                deducted -= Decimal(line["emissions_tco2"])
    return (deducted / process).quantize(Decimal("0.0001"), ROUND_HALF_UP) if process else None


def _gases(unit: Unit, year: int) -> dict:
    """The year's recorded emissions per gas (informative: PFCs of a smelter), summed over the current months."""
    total: dict[str, Decimal] = {}
    for gases in MonthlySubmission.objects.filter(unit=unit, year=year, is_current=True).values_list("gases",
                                                                                                    flat=True):
        for gas, value in (gases or {}).items():
            total[gas] = total.get(gas, Decimal(0)) + Decimal(value)
    return {gas: str(value) for gas, value in total.items()}


def store(verification: Verification, values: list[dict]) -> None:
    """Replace the verification's figures (both kinds) and its total, which every facility's emissions make."""
    verification.unit_values.all().delete()
    verification.facility_values.all().delete()
    VerifiedUnitValue.objects.bulk_create([VerifiedUnitValue(verification=verification, **v) for v in values
                                           if v["unit"].is_generating_unit])
    VerifiedFacilityValue.objects.bulk_create([VerifiedFacilityValue(verification=verification, **v) for v in values
                                               if not v["unit"].is_generating_unit])
    verification.verified_emissions_tco2 = sum((v["emissions_tco2"] for v in values), Decimal(0))
