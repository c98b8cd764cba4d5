from django.db import migrations


def schedule(apps, schema_editor):
    """Sweep the jobs whose worker stopped responding every minute (a beat row the national regulator can see
    and change)."""
    interval, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
        every=60, period="seconds")
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name="jobs: re-queue or fail jobs whose worker stopped",
        defaults={"task": "cets.common.tasks.job_sweep_task", "interval": interval})


class Migration(migrations.Migration):
    dependencies = [("common", "0005_job_heartbeat_attempts_error"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
