"""Portal forms: they parse what a person types into the shapes the services take; the services judge it."""

import datetime as dt

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

PARAMETER_KEYS = ["parameter", "source", "frequency", "sampling_and_testing"]
METER_KEYS = ["unit", "measures", "serial", "required_accuracy", "calibrated_on", "calibration_due"]


class UploadForm(forms.Form):
    file = forms.FileField(label=_lazy("Filled template (.xlsx) or CSV"))


def _lines(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")] for line in text.splitlines() if line.strip()]


def _date(value: str, line: int, name: str):
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise forms.ValidationError(_("Line %(n)d: %(f)s is not a date (YYYY-MM-DD).") % {"n": line, "f": name},
                                    code="invalid_date")


class QcPlanForm(forms.Form):
    """A new version of the year's data quality control plan, one line per parameter and per meter."""

    year = forms.IntegerField(label=_lazy("Year"), min_value=2013, max_value=2100)
    parameters = forms.CharField(
        label=_lazy("Monitored parameters"), widget=forms.Textarea(attrs={"rows": 6, "cols": 100}),
        help_text=_lazy("One line each: parameter | source | frequency | sampling and testing"))
    meters = forms.CharField(
        label=_lazy("Meters"), required=False, widget=forms.Textarea(attrs={"rows": 6, "cols": 100}),
        help_text=_lazy("One line each: unit code (blank for the site) | measures (fuel, electricity_generated, "
                        "electricity_supplied, heat_supplied, purchased_electricity) | meter number | required "
                        "accuracy (fraction) | last calibration | next calibration due (YYYY-MM-DD)"))
    change_reason = forms.CharField(label=_lazy("Reason for the change (needed from version 2)"), required=False,
                                    max_length=500)

    def clean_parameters(self) -> list[dict]:
        rows = []
        for number, cells in enumerate(_lines(self.cleaned_data["parameters"]), 1):
            if not cells[0]:
                raise forms.ValidationError(_("Line %(n)d: name the parameter first.") % {"n": number},
                                            code="required")
            rows.append({k: v for k, v in zip(PARAMETER_KEYS, cells, strict=False) if v})
        return rows

    def clean_meters(self) -> list[dict]:
        rows = []
        for number, cells in enumerate(_lines(self.cleaned_data["meters"]), 1):
            if len(cells) < 4:
                raise forms.ValidationError(_("Line %(n)d: give at least unit | measures | meter number | "
                                              "required accuracy.") % {"n": number}, code="columns")
            item = dict(zip(METER_KEYS, cells + [""] * (len(METER_KEYS) - len(cells)), strict=False))
            item["calibrated_on"] = _date(item["calibrated_on"], number, "calibrated_on")
            item["calibration_due"] = _date(item["calibration_due"], number, "calibration_due")
            rows.append(item)
        return rows

    @staticmethod
    def initial_from(plan) -> dict:
        """The latest version as text, so a change starts from what is in force."""
        if plan is None:
            return {}
        meters = [" | ".join([m.unit.code if m.unit else "", m.measures, m.serial, str(m.required_accuracy),
                              m.calibrated_on.isoformat() if m.calibrated_on else "",
                              m.calibration_due.isoformat() if m.calibration_due else ""])
                  for m in plan.meters.select_related("unit").order_by("pk")]
        params = [" | ".join(str(p.get(k, "")) for k in PARAMETER_KEYS).rstrip(" |") for p in plan.parameters]
        return {"year": plan.year, "parameters": "\n".join(params), "meters": "\n".join(meters)}


class MonthForm(forms.Form):
    """One unit's month. Numbers stay text here: the accounting validation names the field and rule."""

    unit = forms.ModelChoiceField(label=_lazy("Unit"), queryset=None)
    year = forms.IntegerField(label=_lazy("Year"))
    month = forms.IntegerField(label=_lazy("Month"))
    electricity_generated_mwh = forms.CharField(label=_lazy("Electricity generated (MWh)"), required=False)
    electricity_supplied_mwh = forms.CharField(label=_lazy("Electricity supplied (MWh)"), required=False)
    heat_supplied_gj = forms.CharField(label=_lazy("Heat supplied (GJ)"), required=False)
    operating_hours = forms.CharField(label=_lazy("Operating hours"), required=False)
    load_factor = forms.CharField(label=_lazy("Load factor (fraction)"), required=False)
    purchased_electricity_mwh = forms.CharField(label=_lazy("Purchased electricity (MWh)"), required=False)
    note = forms.CharField(label=_lazy("Note"), required=False, max_length=500)
    ledger = forms.FileField(label=_lazy("Supporting file (stamped ledger)"), required=False)

    VALUE_FIELDS = ["electricity_generated_mwh", "electricity_supplied_mwh", "heat_supplied_gj", "operating_hours",
                    "load_factor", "purchased_electricity_mwh"]

    def __init__(self, *args, entity, **kw):
        super().__init__(*args, **kw)
        self.fields["unit"].queryset = entity.units.filter(sector="power").order_by("code")


class FacilityMonthForm(forms.Form):
    """One month of a facility of another sector: its scalar key parameters (one field each, from the
    sector's data) and, in ``FacilityItemFormSet``, its list items as rows of the sector's template."""

    unit = forms.ModelChoiceField(label=_lazy("Facility"), queryset=None)
    year = forms.IntegerField(label=_lazy("Year"), min_value=2013, max_value=2100)
    month = forms.IntegerField(label=_lazy("Month"), min_value=1, max_value=12)
    note = forms.CharField(label=_lazy("Note"), required=False, max_length=500)

    def __init__(self, *args, entity, sector, **kw):
        from .sector_spreadsheet import header, scalar_columns

        super().__init__(*args, **kw)
        self.fields["unit"].queryset = entity.units.filter(sector=sector).order_by("code")
        self.scalars = scalar_columns(sector)
        for name in self.scalars:
            self.fields[name] = forms.CharField(label=header(sector, name), required=False, max_length=500)

    def inputs(self) -> dict:
        return {name: self.cleaned_data[name].strip() for name in self.scalars if self.cleaned_data[name].strip()}


class FacilityItemForm(forms.Form):
    item_list = forms.CharField(label=_lazy("List"), required=False, max_length=60)
    item_code = forms.CharField(label=_lazy("Code"), required=False, max_length=40)
    amount = forms.CharField(label=_lazy("Amount (t or 10^4 Nm3)"), required=False)
    ncv = forms.CharField(label=_lazy("NCV"), required=False)
    carbon_content = forms.CharField(label=_lazy("Carbon per heat"), required=False)
    oxidation_rate = forms.CharField(label=_lazy("Oxidation rate"), required=False)


FacilityItemFormSet = forms.formset_factory(FacilityItemForm, extra=8, max_num=60)


class FuelForm(forms.Form):
    fuel = forms.CharField(label=_lazy("Fuel"), required=False, max_length=20)
    consumption = forms.CharField(label=_lazy("Consumption"), required=False)
    ncv = forms.CharField(label=_lazy("NCV"), required=False)
    carbon_content = forms.CharField(label=_lazy("Elemental carbon"), required=False)
    oxidation_rate = forms.CharField(label=_lazy("Oxidation rate"), required=False)
    test_report = forms.CharField(label=_lazy("Test report number"), required=False, max_length=60)

    def as_fuel(self) -> dict | None:
        data = self.cleaned_data
        if not any(data.values()):
            return None
        return {k: (v or None) for k, v in data.items()}


FuelFormSet = forms.formset_factory(FuelForm, extra=3, max_num=8)


class TestReportForm(forms.Form):
    """A new laboratory report registered with the month (optional): its number is then used on a fuel line."""

    prefix = "report"
    number = forms.CharField(label=_lazy("Report number"), required=False, max_length=60)
    laboratory = forms.CharField(label=_lazy("Laboratory"), required=False, max_length=200)
    accreditation_number = forms.CharField(label=_lazy("CMA/CNAS number"), required=False, max_length=60)
    sample_id = forms.CharField(label=_lazy("Sample id"), required=False, max_length=60)
    sample_date = forms.DateField(label=_lazy("Sample date"), required=False)
    report_date = forms.DateField(label=_lazy("Report date"), required=False)
    carbon_content = forms.DecimalField(label=_lazy("Elemental carbon"), required=False, max_digits=10,
                                        decimal_places=6)
    ncv = forms.DecimalField(label=_lazy("Net calorific value"), required=False, max_digits=10, decimal_places=4)
    file = forms.FileField(label=_lazy("Report file"), required=False)

    def report_fields(self) -> dict | None:
        """The report to register, or None when the section was left empty."""
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        return data or None
