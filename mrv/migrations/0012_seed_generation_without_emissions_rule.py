"""The early-warning rule for a month with electricity generated and zero emissions (issue 14 point 4)."""

from django.db import migrations

RULE = ("generation_without_emissions", "Generation without emissions",
        "Electricity generated in a month whose emissions are zero: fuel data missing or wrongly zero.", {}, 5)


def seed(apps, schema_editor):
    code, name, description, thresholds, days = RULE
    apps.get_model("mrv", "WarningRule").objects.update_or_create(code=code, defaults={
        "name": name, "description": description, "thresholds": thresholds, "rectify_working_days": days})


class Migration(migrations.Migration):
    dependencies = [("mrv", "0011_submission_upload")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
