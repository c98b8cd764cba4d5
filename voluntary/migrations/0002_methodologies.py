"""The first four CCER methodologies (MEE, October 2023) as data the registry can edit in the admin.

Confidence follows reference/DOMAIN.md section 8: codes and the offshore wind rules are [A]; the
mangrove code and every numeric parameter below (regional grid factors, weights, removal ceilings,
forestry crediting periods) are [C] and say so in ``parameters["confidence"]``; the registry
corrects them in the admin without a release.
"""

import datetime as dt

from django.db import migrations

# Regional grid baseline factors (tCO2/MWh), the latest widely reported MEE release [C].
GRID_FACTORS = {
    "north": {"name": "华北区域电网", "ef_om": "0.9419", "ef_bm": "0.4819"},
    "northeast": {"name": "东北区域电网", "ef_om": "1.0826", "ef_bm": "0.2399"},
    "east": {"name": "华东区域电网", "ef_om": "0.7921", "ef_bm": "0.3870"},
    "central": {"name": "华中区域电网", "ef_om": "0.8587", "ef_bm": "0.2854"},
    "northwest": {"name": "西北区域电网", "ef_om": "0.8922", "ef_bm": "0.4407"},
    "south": {"name": "南方区域电网", "ef_om": "0.8042", "ef_bm": "0.2135"},
}
PROVINCE_GRID = {
    **dict.fromkeys(["11", "12", "13", "14", "15", "37"], "north"),
    **dict.fromkeys(["21", "22", "23"], "northeast"),
    **dict.fromkeys(["31", "32", "33", "34", "35"], "east"),
    **dict.fromkeys(["36", "41", "42", "43", "50", "51"], "central"),
    **dict.fromkeys(["61", "62", "63", "64", "65"], "northwest"),
    **dict.fromkeys(["44", "45", "46", "52", "53"], "south"),
}
GRID = {"grid_factors": GRID_FACTORS, "province_grid": PROVINCE_GRID, "w_om": "0.75", "w_bm": "0.25"}

GRID_CONNECTED = [{"field": "grid_connected", "op": "eq", "value": True}]

METHODOLOGIES = [
    {
        "code": "CCER-14-001-V01", "version": "V01", "title": "造林碳汇", "title_en": "Afforestation",
        "sector_code": "14", "sector": "14 林业和其他碳汇 / forestry and other sinks",
        "calculation": "reported", "capacity_unit": "ha",
        "project_fields": [{"name": "non_forest_land", "label": "Land not forest before the project", "type": "bool"}],
        "applicability": [[{"field": "non_forest_land", "op": "eq", "value": True}]],
        "applicability_text": "Afforestation of land that was not forest (乔木林、竹林、灌木林) before the project.",
        "crediting_years_min": 20, "crediting_years_max": 40,
        "parameters": {"max_t_per_unit_year": "25", "confidence": "C: ceiling of removals per hectare and year, "
                       "crediting period 20-40 years as widely reported"},
        "formula": "ER = reported net removals (ΔC_ACTUAL - ΔC_BSL - LK), at most area x 25 tCO2e/ha/yr",
        "confidence": "A",
    },
    {
        "code": "CCER-01-001-V01", "version": "V01", "title": "并网光热发电", "title_en": "Grid-connected solar thermal power",
        "sector_code": "01", "sector": "01 能源产业 / energy industries",
        "calculation": "reported", "capacity_unit": "MW",
        "project_fields": [{"name": "grid_connected", "label": "Connected to the public grid", "type": "bool"},
                           {"name": "storage_hours", "label": "Thermal storage (hours)", "type": "number"}],
        "applicability": [GRID_CONNECTED],
        "applicability_text": "Independent grid-connected solar thermal power plants (new builds).",
        "crediting_years_min": 1, "crediting_years_max": 10,
        "parameters": {**GRID, "max_t_per_unit_year": "3500",
                       "confidence": "C: grid factors and the ceiling per MW and year"},
        "formula": "ER = reported reductions, at most net export x EF_grid,CM and capacity x 3,500 t/MW/yr",
        "confidence": "A",
    },
    {
        "code": "CCER-01-002-V01", "version": "V01", "title": "并网海上风力发电",
        "title_en": "Grid-connected offshore wind power",
        "sector_code": "01", "sector": "01 能源产业 / energy industries",
        "calculation": "grid_export", "capacity_unit": "MW",
        "project_fields": [{"name": "grid_connected", "label": "Connected to the public grid", "type": "bool"},
                           {"name": "offshore_distance_km", "label": "Distance offshore (km)", "type": "number"},
                           {"name": "water_depth_m", "label": "Water depth (m)", "type": "number"}],
        "applicability": [GRID_CONNECTED, [{"field": "offshore_distance_km", "op": "gt", "value": "30"},
                                           {"field": "water_depth_m", "op": "gt", "value": "30"}]],
        "applicability_text": "Grid-connected offshore wind farms more than 30 km offshore or in water deeper "
                              "than 30 m; additionality is deemed.",
        "crediting_years_min": 1, "crediting_years_max": 10,
        "parameters": {**GRID, "confidence": "C: regional grid OM/BM factors and the 0.75/0.25 weights"},
        "formula": "BE_y = EG_PJ,y x EF_grid,CM,y; EF_grid,CM = 0.75 x EF_OM + 0.25 x EF_BM; ER_y = BE_y "
                   "(PE = LE = 0), rounded down to whole tonnes",
        "confidence": "A",
    },
    {
        "code": "CCER-14-002-V01", "version": "V01", "title": "红树林营造", "title_en": "Mangrove afforestation",
        "sector_code": "14", "sector": "14 林业和其他碳汇 / forestry and other sinks",
        "calculation": "reported", "capacity_unit": "ha",
        "project_fields": [{"name": "intertidal", "label": "Site in the intertidal zone", "type": "bool"}],
        "applicability": [[{"field": "intertidal", "op": "eq", "value": True}]],
        "applicability_text": "Planting mangroves on intertidal mudflats without mangroves before the project.",
        "crediting_years_min": 20, "crediting_years_max": 40,
        "parameters": {"max_t_per_unit_year": "40", "confidence": "C: the code, the ceiling per hectare and "
                       "year, and the 20-40 year crediting period"},
        "formula": "ER = reported net removals, at most area x 40 tCO2e/ha/yr",
        "confidence": "C",
    },
]


def seed(apps, schema_editor):
    Methodology = apps.get_model("voluntary", "Methodology")
    for row in METHODOLOGIES:
        Methodology.objects.update_or_create(code=row["code"], defaults={**row, "published_on": dt.date(2023, 10, 24)})


def unseed(apps, schema_editor):
    apps.get_model("voluntary", "Methodology").objects.filter(code__in=[m["code"] for m in METHODOLOGIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("voluntary", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
