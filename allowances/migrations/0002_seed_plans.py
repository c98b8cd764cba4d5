"""Seed the published plans 2019-20, 2021, 2022, 2023 and 2024 (DOMAIN.md sections 3-4)."""

from decimal import Decimal

from django.db import migrations

from allowances.plans_seed import PLANS, benchmark_rows


def seed(apps, schema_editor):
    Plan = apps.get_model("allowances", "AllocationPlan")
    Row = apps.get_model("allowances", "BenchmarkRow")
    for code, (title, first, last, fields, rows) in PLANS.items():
        plan, _ = Plan.objects.get_or_create(code=code, defaults={
            "title": title, "first_year": first, "last_year": last, "status": "published", **fields})
        for year, column, kind in rows:
            for category, electricity, heat, confidence, note in benchmark_rows(column):
                Row.objects.get_or_create(plan=plan, year=year, category=category, kind=kind, defaults={
                    "electricity_t_per_mwh": Decimal(electricity), "heat_t_per_gj": Decimal(heat),
                    "confidence": confidence, "note": note})


def unseed(apps, schema_editor):
    apps.get_model("allowances", "AllocationPlan").objects.filter(code__in=list(PLANS)).delete()


class Migration(migrations.Migration):
    dependencies = [("allowances", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
