from django.db import migrations


def schedule(apps, schema_editor):
    """The daily risk scan at 06:00 Beijing time, a row regulators can see and change (django-celery-beat)."""
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    Task = apps.get_model("django_celery_beat", "PeriodicTask")
    cron, _ = Crontab.objects.get_or_create(minute="0", hour="6", day_of_week="*", day_of_month="*",
                                            month_of_year="*", timezone="Asia/Shanghai")
    Task.objects.get_or_create(name="compliance: daily risk scan",
                               defaults={"task": "compliance.tasks.risk_scan_daily", "crontab": cron})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_seed_cycles"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
