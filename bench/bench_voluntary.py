"""Voluntary-market benchmarks on PostgreSQL: eligibility at publish, public search, issuance.

Set-up (not timed): 5,000 ETS units in the entities register and 10,000 registered CCER projects
(bulk inserts), in a scratch database (default postgres://postgres@127.0.0.1:5432/cets_bench_voluntary,
created and migrated on first use; emptied at each run).

Timed, through the services and views:
1. ``project_publish`` of N drafts (each runs the automatic eligibility checks: applicability, ETS-unit
   cross-check against the register, uniqueness of site and capacity) -> ms per publish.
2. The public project search page (``/voluntary/public/projects/?q=...``) and the API list -> requests/s
   through the Django test client, and the query count of one request.
3. ``report_register`` of N verified monitoring reports (two vintages each: two four-eyes issuances in
   the registry) -> ms per registration.

Usage: python bench/bench_voluntary.py [--projects 10000] [--n 100]
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cets_bench_voluntary"
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = DEFAULT_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cets.settings")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
os.environ["THROTTLE_ANON"] = "1000000/min"  # measure the pages, not the rate limiter


def ensure_database(url: str) -> None:
    import psycopg2

    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def setup_django() -> None:
    import django

    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE voluntary_credituse, voluntary_issuance, voluntary_comment, voluntary_document, "
                    "voluntary_monitoringreport, voluntary_project, registry_transactionleg, registry_block, "
                    "registry_holding, registry_transaction, registry_reservation, registry_account, "
                    "registry_instrument, common_auditentry, common_auditchainhead RESTART IDENTITY CASCADE")
        cur.execute("DELETE FROM entities_unit WHERE code LIKE 'VBENCH-%%'")
        cur.execute("DELETE FROM entities_keyentity WHERE name LIKE 'VBENCH %%'")
        cur.execute("DELETE FROM entities_user WHERE username LIKE 'vbench-%%'")
        cur.execute("DELETE FROM entities_accreditation WHERE number LIKE 'VBENCH-%%'")
        cur.execute("DELETE FROM entities_organisation WHERE name LIKE 'VBENCH %%'")


def make_world(projects: int):
    from entities.credit_code import credit_code_make
    from entities.models import Accreditation, City, KeyEntity, Organisation, Unit, User
    from voluntary.models import Methodology, Project

    cities = list(City.objects.all()[:40])
    entities = [KeyEntity(name=f"VBENCH {i}", inclusion_year=2019, city=cities[i % len(cities)],
                          credit_code=credit_code_make(f"91{cities[i % len(cities)].code}{700000 + i:09d}"),
                          province_id=cities[i % len(cities)].province_id) for i in range(2500)]
    KeyEntity.objects.bulk_create(entities, batch_size=2000)
    ids = list(KeyEntity.objects.filter(name__startswith="VBENCH ").values_list("pk", flat=True))
    Unit.objects.bulk_create([Unit(entity_id=ids[n % len(ids)], code=f"VBENCH-{n:05d}", name=f"#{n}",
                                   rated_power_mw=[300, 600, 660, 1000][n % 4], main_fuel="coal",
                                   commissioning_date=dt.date(2010, 1, 1)) for n in range(5000)], batch_size=2000)
    orgs = {}
    for n, kind in enumerate(["project_owner", "vvb", "vvb"]):
        orgs[n] = Organisation.objects.create(name=f"VBENCH {kind} {n}", kind=kind, province_id="11",
                                              credit_code=credit_code_make(f"12110100{900000 + n:09d}"))
        if kind == "vvb":
            Accreditation.objects.create(organisation=orgs[n], scope="CCER sector 01", number=f"VBENCH-{n}",
                                         valid_from=dt.date(2023, 1, 1), valid_to=dt.date(2030, 1, 1))
    owner = User.objects.create(username="vbench-owner", role="project_owner", organisation=orgs[0])
    validator = User.objects.create(username="vbench-validator", role="vvb", organisation=orgs[1])
    verifier = User.objects.create(username="vbench-verifier", role="vvb", organisation=orgs[2])
    reviewer = User.objects.create(username="vbench-mee", role="national_regulator", is_staff=True)
    wind = Methodology.objects.get(code="CCER-01-002-V01")
    Project.objects.bulk_create([Project(
        ref=f"PB{n:07d}", registration_number=f"CCER-01-2023-{n:06d}", title=f"海上风电 {n}", owner=orgs[0],
        methodology=wind, validator=orgs[1], province_id="44", site=f"site {n}", site_key=f"site {n}",
        capacity=Decimal(100 + n % 400), construction_start=dt.date(2021, 1, 1), crediting_start=dt.date(2022, 1, 1),
        crediting_end=dt.date(2031, 12, 31), parameters={"grid_connected": True, "offshore_distance_km": 40},
        state="registered", registered_on=dt.date(2024, 4, 10), created_by=owner) for n in range(projects)],
        batch_size=2000)
    return owner, validator, verifier, reviewer, orgs, wind


def bench_publish(n, owner, orgs, wind):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from voluntary import clock, services

    drafts = []
    with clock.frozen(dt.date(2024, 3, 1)):
        for i in range(n):
            project = services.project_create(
                actor=owner, methodology=wind, validator=orgs[1], title=f"新项目 {i}", site=f"new site {i}",
                province_id="44", capacity=Decimal("300"), construction_start=dt.date(2021, 6, 1),
                crediting_start=dt.date(2022, 1, 1), crediting_end=dt.date(2031, 12, 31),
                parameters={"grid_connected": True, "offshore_distance_km": "45", "water_depth_m": "20"})
            services.document_upload(actor=owner, project=project, kind="design",
                                     upload=SimpleUploadedFile("pdd.pdf", b"%PDF-1.4 bench"))
            drafts.append(project)
        times = []
        for project in drafts:
            start = time.perf_counter()
            services.project_publish(actor=owner, project=project)
            times.append(time.perf_counter() - start)
    return drafts, times


def bench_pages(requests: int):
    from django.db import connection
    from django.test import Client

    client = Client()
    out = {}
    for label, url in [("public search page", "/voluntary/public/projects/?q=海上风电 12&state=registered"),
                       ("API project list", "/api/v1/voluntary/projects/?limit=50")]:
        client.get(url)
        queries = []

        def count(execute, sql, params, many, context, seen=queries):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            assert client.get(url).status_code == 200
        start = time.perf_counter()
        for _ in range(requests):
            client.get(url)
        out[label] = (requests / (time.perf_counter() - start), len(queries))
    return out


def bench_register(drafts, owner, validator, verifier, reviewer, orgs):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from voluntary import clock, services

    reports = []
    for project in drafts:
        with clock.frozen(dt.date(2024, 4, 1)):
            services.document_upload(actor=validator, project=project, kind="validation",
                                     upload=SimpleUploadedFile("v.pdf", b"%PDF-1.4 bench"))
            project = services.project_validate(actor=validator, project=project, positive=True)
            project = services.project_apply(actor=owner, project=project)
            project = services.project_register(actor=reviewer, project=project)
        with clock.frozen(dt.date(2024, 6, 3)):
            report = services.report_create(actor=owner, project=project, verifier=orgs[2],
                                            period_start=dt.date(2022, 1, 1), period_end=dt.date(2023, 12, 31),
                                            net_export_mwh=Decimal("500000"))
            for kind, user in (("monitoring", owner), ("verification", verifier)):
                if kind == "verification":
                    report = services.report_submit(actor=owner, report=report)
                services.document_upload(actor=user, project=project, kind=kind, report=report,
                                         upload=SimpleUploadedFile(f"{kind}.pdf", b"%PDF-1.4 bench"))
            report = services.report_verify(actor=verifier, report=report, verified_net_export_mwh=Decimal("500000"))
        with clock.frozen(dt.date(2024, 7, 8)):
            reports.append(services.report_apply(actor=owner, report=report))
    times = []
    with clock.frozen(dt.date(2024, 7, 15)):
        for report in reports:
            start = time.perf_counter()
            services.report_register(actor=reviewer, report=report)
            times.append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=10000)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    setup_django()
    import tempfile

    from django.conf import settings

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="vbench-")
    reset()
    t0 = time.perf_counter()
    owner, validator, verifier, reviewer, orgs, wind = make_world(args.projects)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")  # fresh statistics after the bulk load, as autovacuum would give
    print(f"set-up: {args.projects} registered projects, 5,000 ETS units in {time.perf_counter() - t0:.1f} s")
    drafts, publish = bench_publish(args.n, owner, orgs, wind)
    print(f"project_publish (eligibility checks) x{args.n}: median {statistics.median(publish) * 1000:.1f} ms, "
          f"p95 {sorted(publish)[int(len(publish) * 0.95) - 1] * 1000:.1f} ms")
    for label, (rate, queries) in bench_pages(args.requests).items():
        print(f"{label}: {rate:.0f} requests/s (test client, 1 process), {queries} queries per request")
    register = bench_register(drafts, owner, validator, verifier, reviewer, orgs)
    p95 = sorted(register)[int(len(register) * 0.95) - 1]
    print(f"report_register (2 vintages, 2 four-eyes issuances) x{len(register)}: median "
          f"{statistics.median(register) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
