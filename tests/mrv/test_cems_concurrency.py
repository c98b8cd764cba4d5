"""Two senders resend the same hours at once (PostgreSQL): one row per point and hour, the later values win."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from mrv import cems
from mrv.cems_models import CemsHour

from .test_cems import NOW, approved_point, rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_resends_store_each_hour_once(entity_user, unit, hubei):
    point = approved_point(entity_user, unit, hubei)
    barrier = threading.Barrier(2)

    def send(co2):
        try:
            barrier.wait()
            return cems.hours_ingest(actor=entity_user, rows=rows(n=48, co2=co2), now=NOW)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(send, [12.0, 13.0])
    assert sorted([first["inserted"], second["inserted"]]) == [0, 48]
    assert sorted([first["changed"], second["changed"]]) == [0, 48]
    assert CemsHour.objects.filter(point=point).count() == 48
    assert len(set(CemsHour.objects.values_list("co2_pct", flat=True))) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM mrv_cemshour_202403")  # 1 April 00:00 CST is 31 March 16:00 UTC
        assert cursor.fetchone()[0] == 8
