"""Races on PostgreSQL: two twins published at once, two overlapping periods reported at once."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from cets.common.errors import DomainError
from voluntary import clock, services
from voluntary.models import Document, MonitoringReport, Project

from .conftest import CREATED, REPORTED, pdf, wind_fields

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, work) -> list:
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait()
            return work(i)
        except DomainError as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_twin_projects_published_together_only_one_wins(owner, wind, validator_org):
    twins = []
    with clock.frozen(CREATED):
        for _ in range(4):
            project = services.project_create(actor=owner, **wind_fields(wind, validator_org))
            services.document_upload(actor=owner, project=project, kind=Document.Kind.DESIGN, upload=pdf())
            twins.append(project)

    def publish(i):
        with clock.frozen(CREATED):
            return services.project_publish(actor=owner, project=twins[i])

    results = race(4, publish)
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 3 and {r.code for r in refused} <= {"duplicate_project", "busy"}
    assert Project.objects.filter(state=Project.State.DISCLOSURE).count() == 1


def test_overlapping_periods_reported_together_only_one_counts(registered, owner, verifier_org):
    periods = [(dt.date(2022, 1, 1), dt.date(2022, 12, 31)), (dt.date(2022, 6, 1), dt.date(2023, 5, 31)),
               (dt.date(2022, 12, 1), dt.date(2023, 3, 31))]

    def report(i):
        with clock.frozen(REPORTED):
            return services.report_create(actor=owner, project=registered, verifier=verifier_org,
                                          period_start=periods[i][0], period_end=periods[i][1],
                                          net_export_mwh=Decimal("1000"))

    results = race(3, report)
    assert sum(1 for r in results if isinstance(r, MonitoringReport)) == 1
    assert MonitoringReport.objects.count() == 1
