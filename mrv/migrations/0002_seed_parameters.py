"""Seed the accounting parameters, plausibility ranges and early-warning rules (DOMAIN.md section 5).

Every figure is data a regulator may correct in the admin; the confidence letter says where it comes
from ([A] official text, [B] secondary source, [C] widely reported, not confirmed).
"""

from decimal import Decimal as D

from django.db import migrations

PARAMETERS = [
    # key, fuel class, from, to, value, confidence, source
    ("default_carbon_per_heat", "coal", 2019, 2021, D("0.03356"), "C",
     "high default carbon per unit heat, 2021 power accounting guideline [C]"),
    ("default_carbon_per_heat", "coal", 2022, None, D("0.03085"), "C",
     "high default carbon per unit heat from 2022 data [C]"),
    ("default_carbon_per_heat", "natural_gas", 2019, None, D("0.01532"), "C",
     "natural gas carbon per unit heat 15.32 tC/TJ, guideline default table [C]"),
    ("default_ncv", "natural_gas", 2019, None, D("389.31"), "C",
     "natural gas NCV 389.31 GJ/10^4 Nm3, guideline default table [C]"),
    ("oxidation_rate", "coal", 2019, 2025, D("0.99"), "A",
     "coal oxidation rate 99% to 2025; from 2026 the national factor database [A]"),
    ("oxidation_rate", "natural_gas", 2019, None, D("0.99"), "C",
     "natural gas oxidation rate 99%, guideline default table [C]"),
    ("grid_factor", "", 2021, 2022, D("0.5810"), "A",
     "0.5810 tCO2/MWh for 2021 and 2022 accounting (replaces 0.6101); none from 2023 data [A]"),
]

RANGES = [
    ("coal_carbon_per_heat_tc_per_tj", "coal", D("26"), D("28"), "A", "coal carbon ~26-28 tC/TJ by coal type [A]"),
    ("ncv", "natural_gas", D("285"), D("398.3"), "A", "gas NCV 285-398.3 GJ/10^4 Nm3 [A]"),
    ("carbon_content", "natural_gas", D("4.37"), D("6.10"), "A", "gas carbon 4.37-6.10 tC/10^4 Nm3 [A]"),
    ("chp_energy_balance", "", D("0"), D("1"), "A", "CHP (MWh x 3.6 + GJ heat) / fuel heat < 1 [A]"),
    ("condensing_energy_balance", "", D("0"), D("0.46"), "A", "pure condensing MWh x 3.6 / fuel heat < 46% [A]"),
]

RULES = [
    ("missing_month", "Missing month", "No data for a month after its 40-day deadline.", {}, 5),
    ("late_submission", "Late submission", "Monthly data submitted after the 40-day deadline.", {}, 10),
    ("load_factor_range", "Load factor out of range", "Load factor outside a plausible band.",
     {"low": 0.2, "high": 1.0}, 10),
    ("oxidation_range", "Oxidation rate too low", "Reported oxidation rate below the threshold.", {"low": 0.9}, 10),
    ("coal_carbon_per_heat", "Coal carbon per heat", "Measured carbon / NCV outside the range of its coal type.",
     {"default_tc_per_tj": [25.5, 28.5], "ranges_tc_per_tj": {"anthracite": [26.0, 29.0],
                                                              "lignite": [26.0, 29.0]}}, 10),
    ("gas_ranges", "Natural gas NCV or carbon", "Gas NCV 285-398.3 GJ/10^4 Nm3, carbon 4.37-6.10 tC/10^4 Nm3.",
     {"ncv": [285, 398.3], "carbon": [4.37, 6.10]}, 10),
    ("energy_balance", "Energy balance", "CHP output/fuel heat must stay below 1, pure condensing below 46%.",
     {"chp_max": 1.0, "condensing_max": 0.46, "condensing_fuels": ["coal", "unconventional_coal"]}, 10),
    ("month_jump", "Month-over-month jump", "Fuel heat per MWh generated jumps from the previous month.",
     {"max_change": 0.3}, 10),
    ("peer_intensity", "Intensity far from peers", "Robust z-score of tCO2/MWh within category and month.",
     {"z": 3.5, "min_peers": 5}, 10),
    ("test_report", "Test report timing or reuse",
     "Report dated more than 40 days after sampling, or one report used for different unit-months.",
     {"max_days": 40}, 10),
    ("carbon_without_report", "Carbon without test report", "Measured carbon content with no test report.", {}, 5),
    ("annual_mismatch", "Annual report differs from months", "Annual report not equal to the sum of its months.",
     {}, 10),
]


def seed(apps, schema_editor):
    Parameter = apps.get_model("mrv", "AccountingParameter")
    Range = apps.get_model("mrv", "PlausibilityRange")
    Rule = apps.get_model("mrv", "WarningRule")
    for key, fuel, start, end, value, conf, source in PARAMETERS:
        Parameter.objects.update_or_create(key=key, fuel=fuel, year_from=start, defaults={
            "year_to": end, "value": value, "confidence": conf, "source": source})
    for parameter, fuel, low, high, conf, source in RANGES:
        Range.objects.update_or_create(parameter=parameter, fuel=fuel, defaults={
            "low": low, "high": high, "confidence": conf, "source": source})
    for code, name, description, thresholds, days in RULES:
        Rule.objects.update_or_create(code=code, defaults={
            "name": name, "description": description, "thresholds": thresholds, "rectify_working_days": days})


class Migration(migrations.Migration):
    dependencies = [("mrv", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
