from django.db import migrations

from compliance.cycles_seed import load_cycles


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]
    operations = [migrations.RunPython(load_cycles, migrations.RunPython.noop)]
