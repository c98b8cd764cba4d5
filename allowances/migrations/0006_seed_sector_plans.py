"""Seed the power plans 2025 and 2026 (consultation draft) and the industrial plans 2024-2026 (plans_seed)."""

from decimal import Decimal

from django.db import migrations

from allowances.plans_seed import BALANCE_VALUES, SECTOR_PLANS, benchmark_rows

DECIMALS = {"pre_allocation_share", "peak_threshold", "intensity_band", "intensity_slope", "carbide_slag_threshold"}


def seed(apps, schema_editor):
    Plan = apps.get_model("allowances", "AllocationPlan")
    Row = apps.get_model("allowances", "BenchmarkRow")
    Balance = apps.get_model("allowances", "BalanceValue")
    for code, (title, sector, year, fields) in SECTOR_PLANS.items():
        values = {k: Decimal(v) if k in DECIMALS and v is not None else v for k, v in fields.items()}
        values["sector_id"] = values.pop("sector", sector)
        plan, _ = Plan.objects.get_or_create(code=code, defaults={
            "title": title, "first_year": year, "last_year": year, "status": "published", **values})
        if sector == "power":
            for category, electricity, heat, confidence, note in benchmark_rows(code):
                Row.objects.get_or_create(plan=plan, year=year, category=category, kind="benchmark", defaults={
                    "electricity_t_per_mwh": Decimal(electricity), "heat_t_per_gj": Decimal(heat),
                    "confidence": confidence, "note": note})
    for (code, year), (value, confidence, note) in BALANCE_VALUES.items():
        Balance.objects.get_or_create(plan=Plan.objects.get(code=code), year=year, defaults={
            "value": Decimal(value), "confidence": confidence, "note": note})


def unseed(apps, schema_editor):
    apps.get_model("allowances", "AllocationPlan").objects.filter(code__in=list(SECTOR_PLANS)).delete()


class Migration(migrations.Migration):
    dependencies = [("allowances", "0005_sector_plans")]

    operations = [migrations.RunPython(seed, unseed)]
