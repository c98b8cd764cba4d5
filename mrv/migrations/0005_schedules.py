from django.db import migrations

SCHEDULES = [
    # name, task, hour, minute (Beijing time)
    ("mrv: nightly early-warning rules", "mrv.warnings_nightly", "1", "30"),
    ("mrv: escalate overdue warnings", "mrv.warnings_escalate", "5", "0"),
    ("mrv: reminders 7 days and 1 day before due dates", "mrv.reminders", "7", "0"),
]


def schedule(apps, schema_editor):
    """Daily MRV tasks as rows regulators can see and change (django-celery-beat)."""
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    Task = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, hour, minute in SCHEDULES:
        cron, _ = Crontab.objects.get_or_create(minute=minute, hour=hour, day_of_week="*", day_of_month="*",
                                                month_of_year="*", timezone="Asia/Shanghai")
        Task.objects.get_or_create(name=name, defaults={"task": task, "crontab": cron})


class Migration(migrations.Migration):
    dependencies = [("mrv", "0004_reminders"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
