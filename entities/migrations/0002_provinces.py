from django.db import migrations

from entities.reference_data import load_provinces


class Migration(migrations.Migration):
    dependencies = [("entities", "0001_initial")]
    operations = [migrations.RunPython(load_provinces, migrations.RunPython.noop)]
