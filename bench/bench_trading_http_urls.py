"""URLs of the HTTP benchmark: the real API plus ``/bench/bare/``, a bare DRF create view of one row.

The market clock is fixed inside a session (the benchmark runs at any hour).
"""

import datetime as dt

from django.urls import include, path
from django.utils import timezone
from rest_framework import generics, serializers

from cets.common.models import Job
from trading import rules

SESSION = timezone.make_aware(dt.datetime(2024, 4, 24, 10, 0))
rules.market_now = lambda: SESSION


class JobInput(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["kind", "params"]


class BareCreate(generics.CreateAPIView):
    """The baseline: authenticate, validate, insert one row, answer 201."""

    serializer_class = JobInput


urlpatterns = [
    path("api/v1/trading/", include("trading.api.urls")),
    path("bench/bare/", BareCreate.as_view()),
]
