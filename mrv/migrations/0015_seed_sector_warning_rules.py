"""Early-warning rules of the industrial sectors (issue 15 point 4): sector plausibility of monthly data.

The ranges are ``PlausibilityRange`` rows (seeded with the sector defaults, confidence C); a rule's own
``low``/``high`` apply only where no row exists.
"""

from django.db import migrations

RULES = [
    ("clinker_factor_range", "Clinker factor out of range",
     "A measured clinker factor (tCO2/t clinker) outside the plausible range of the line's clinker type.",
     {"parameter": "clinker_factor"}, 10),
    ("net_anode_consumption_range", "Net anode consumption out of range",
     "Net anode consumption (t anode per t aluminium) outside the plausible range.",
     {"parameter": "net_anode_consumption", "low": "0.38", "high": "0.45"}, 10),
    ("pfc_per_tonne", "PFC per tonne of aluminium out of range",
     "CF4 + C2F6 (tCO2e) per tonne of aluminium liquid outside the plausible range.",
     {"parameter": "pfc_per_t_al", "low": "0", "high": "0.40"}, 10),
    ("steel_carbon_balance", "Steel carbon balance per tonne of crude steel out of range",
     "The enterprise carbon balance per tonne of crude steel outside the plausible range of long-process plants.",
     {"parameter": "steel_carbon_balance_per_t", "low": "1.4", "high": "2.4"}, 10),
    ("sector_intensity", "Allocation intensity out of range",
     "A facility's intensity (the figure its allocation uses) outside its sector's plausible range.",
     {"parameters": {"cement": "clinker_intensity", "aluminium": "aluminium_intensity",
                     "steel": "steel_ironmaking_intensity"}}, 10),
]


def seed(apps, schema_editor):
    Rule = apps.get_model("mrv", "WarningRule")
    for code, name, description, thresholds, days in RULES:
        Rule.objects.update_or_create(code=code, defaults={
            "name": name, "description": description, "thresholds": thresholds, "rectify_working_days": days})


class Migration(migrations.Migration):
    dependencies = [("mrv", "0014_sector_monthly_data_and_verified_facilities")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
