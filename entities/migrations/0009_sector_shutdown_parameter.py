"""The ``shutdown`` monthly parameter of steel, cement and aluminium (a month with zero output), from the seed."""

from django.db import migrations


def add_shutdown(apps, schema_editor):
    from entities.sectors_seed import SHUTDOWN

    for sector in apps.get_model("entities", "Sector").objects.filter(code__in=["steel", "cement", "aluminium"]):
        if not any(p.get("code") == SHUTDOWN["code"] for p in sector.monthly_parameters):
            sector.monthly_parameters = [*sector.monthly_parameters, dict(SHUTDOWN)]
            sector.save(update_fields=["monthly_parameters"])


def remove_shutdown(apps, schema_editor):
    for sector in apps.get_model("entities", "Sector").objects.filter(code__in=["steel", "cement", "aluminium"]):
        sector.monthly_parameters = [p for p in sector.monthly_parameters if p.get("code") != "shutdown"]
        sector.save(update_fields=["monthly_parameters"])


class Migration(migrations.Migration):
    dependencies = [("entities", "0008_unit_2025_power_facts")]

    operations = [migrations.RunPython(add_shutdown, remove_shutdown)]
