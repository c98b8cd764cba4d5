from django.db import migrations


def schedule(apps, schema_editor):
    """Daily: open a conservative-determination case for every annual report missing at its deadline."""
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    Task = apps.get_model("django_celery_beat", "PeriodicTask")
    cron, _ = Crontab.objects.get_or_create(minute="15", hour="6", day_of_week="*", day_of_month="*",
                                            month_of_year="*", timezone="Asia/Shanghai")
    Task.objects.get_or_create(name="mrv: conservative cases for missing annual reports",
                               defaults={"task": "mrv.conservative_cases", "crontab": cron})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="mrv.conservative_cases").delete()


class Migration(migrations.Migration):
    dependencies = [("mrv", "0008_verification_findings_and_cases"), ("mrv", "0005_schedules")]
    operations = [migrations.RunPython(schedule, unschedule)]
