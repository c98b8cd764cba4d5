"""Two accounting figures the power guideline has and CETS lacked (issue 17 point 8, DOMAIN.md section 5):

- the grid factor of the first compliance cycle's data years: 0.6101 tCO2/MWh for purchased electricity of
  2019 and 2020 data, the 2021 power accounting guideline's figure [A] (2021 and 2022 accounting used 0.5810,
  seeded in 0002; no indirect emissions from 2023 data);
- start-up fuel oil, the liquid fuel every coal unit burns to light off: the guideline's default table gives
  NCV 41.816 GJ/t and 21.1 tC/TJ [C], the same figures the steel module uses (``sector_parameters_seed``);
  oxidation 98% for liquid fuels [C].
"""

from decimal import Decimal as D

from django.db import migrations

ROWS = [
    # key, fuel class, from, to, value, confidence, source
    ("grid_factor", "", 2019, 2020, D("0.6101"), "A",
     "0.6101 tCO2/MWh for 2019 and 2020 data, 2021 power accounting guideline [A]"),
    ("default_ncv", "fuel_oil", 2019, None, D("41.816"), "C", "fuel oil NCV 41.816 GJ/t, guideline default table [C]"),
    ("default_carbon_per_heat", "fuel_oil", 2019, None, D("0.02110"), "C",
     "fuel oil carbon per unit heat 21.1 tC/TJ, guideline default table [C]"),
    ("oxidation_rate", "fuel_oil", 2019, None, D("0.98"), "C", "liquid fuels' oxidation rate 98%, guideline default "
                                                                 "table [C]"),
]


def seed(apps, schema_editor):
    Parameter = apps.get_model("mrv", "AccountingParameter")
    for key, fuel, start, end, value, conf, source in ROWS:
        Parameter.objects.update_or_create(key=key, fuel=fuel, year_from=start, defaults={
            "year_to": end, "value": value, "confidence": conf, "source": source})


def unseed(apps, schema_editor):
    Parameter = apps.get_model("mrv", "AccountingParameter")
    for key, fuel, start, _end, value, _conf, _source in ROWS:
        Parameter.objects.filter(key=key, fuel=fuel, year_from=start, value=value).delete()


class Migration(migrations.Migration):
    dependencies = [("mrv", "0016_sector_list_proxy")]

    operations = [migrations.RunPython(seed, unseed)]
