"""Power is accounted through mrv.sectors.power, like every sector (issue 15: one module each)."""

from django.db import migrations


def point_power(apps, schema_editor):
    apps.get_model("entities", "Sector").objects.filter(code="power").update(accounting_module="mrv.sectors.power")


def point_back(apps, schema_editor):
    apps.get_model("entities", "Sector").objects.filter(code="power").update(accounting_module="mrv.accounting")


class Migration(migrations.Migration):
    dependencies = [("entities", "0005_sectors")]

    operations = [migrations.RunPython(point_power, point_back)]
