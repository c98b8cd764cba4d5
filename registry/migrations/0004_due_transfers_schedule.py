from django.db import migrations


def schedule(apps, schema_editor):
    """Delayed transfers run every 5 minutes once due: a row regulators can see and change (django-celery-beat)."""
    Interval = apps.get_model("django_celery_beat", "IntervalSchedule")
    Task = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = Interval.objects.get_or_create(every=5, period="minutes")
    Task.objects.get_or_create(name="registry: execute due delayed transfers",
                               defaults={"task": "registry.tasks.execute_due_transfers", "interval": every})


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_pendingapproval"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
