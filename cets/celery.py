"""The Celery app. Without a broker (the demo), settings make every task run in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cets.settings")

app = Celery("cets")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
