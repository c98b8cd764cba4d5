from django.db import migrations

from compliance.carryover_seed import load_schemes


class Migration(migrations.Migration):
    dependencies = [("compliance", "0007_carry_over")]

    operations = [migrations.RunPython(load_schemes, migrations.RunPython.noop)]
