"""The cast every permission test uses, and the switches that keep CI honest.

- Tests marked ``postgres`` are skipped on SQLite; with ``REQUIRE_POSTGRES=1`` (CI) a skipped one
  fails the run, so locking and concurrency are always proven against the real database.
- Tests marked ``browser`` need Debian's Chromium; with ``REQUIRE_BROWSER=1`` (CI) they must run.
- Tests marked ``celery_worker`` need Redis (``REDIS_URL``); with ``REQUIRE_WORKER=1`` (CI) they must run.
"""

import os

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from entities.models import User

from . import factories as f


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_browser = os.path.exists("/usr/bin/chromium")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if "browser" in item.keywords and not has_browser:
            item.add_marker(pytest.mark.skip(reason="needs Debian chromium at /usr/bin/chromium"))
        if "celery_worker" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(pytest.mark.skip(reason="needs Redis (set REDIS_URL)"))


_required_skips: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        keywords = report.keywords
        if (
            ("postgres" in keywords and os.environ.get("REQUIRE_POSTGRES") == "1")
            or ("browser" in keywords and os.environ.get("REQUIRE_BROWSER") == "1")
            or ("celery_worker" in keywords and os.environ.get("REQUIRE_WORKER") == "1")
        ):
            _required_skips.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _required_skips:
        print(f"\nFAILED: {len(_required_skips)} required test(s) were skipped:")
        for nodeid in _required_skips:
            print(f"  {nodeid}")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    """Transactional tests flush every table, the reference data loaded by data migrations included
    (provinces, plans, MRV parameters, products, methodologies, cycles): put them back so every test
    starts from the same reference data in any order."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "live_server" in request.fixturenames or "transactional_db" in request.fixturenames or (
        marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    if transactional:
        request.getfixturevalue("transactional_db")
        _reload_seeded_reference_data()


@pytest.fixture(autouse=True)
def _no_rows_cached_across_tests():
    """Process caches of database rows (trading's CEA instruments by vintage and its order books) hold
    while rows are never deleted, as in production; a test's rollback or flush deletes them, and a later
    test in the same process then read the balance of an instrument that no longer exists (0 t sellable:
    the second replay of a session failed its trading stage). Each test starts without them."""
    from trading import books, delivery

    delivery._instruments.clear()
    books._books.clear()


# Reference data that data migrations load (and a transactional test's flush removes).
SEEDS = [
    ("entities.migrations.0002_provinces", "load_provinces"),
    ("entities.migrations.0005_sectors", "seed_sectors"),
    ("entities.migrations.0007_sector_report_only_rules", "seed_rules"),
    ("allowances.migrations.0002_seed_plans", "seed"),
    ("allowances.migrations.0006_seed_sector_plans", "seed"),
    ("mrv.migrations.0002_seed_parameters", "seed"),
    ("mrv.migrations.0012_seed_generation_without_emissions_rule", "seed"),
    ("mrv.migrations.0013_sector_accounting_parameters", "seed"),
    ("mrv.migrations.0015_seed_sector_warning_rules", "seed"),
    ("mrv.migrations.0017_first_cycle_grid_factor_and_fuel_oil", "seed"),
    ("mrv.migrations.0021_cems", "seed"),
    ("trading.migrations.0002_seed_products", "seed"),
    ("voluntary.migrations.0002_methodologies", "seed"),
    ("voluntary.migrations.0003_methodologies_2025_and_offset_rule", "seed"),
    ("registry.migrations.0011_surrender_vintages", "load_vintages"),
    ("compliance.migrations.0002_seed_cycles", "load_cycles"),
    ("compliance.migrations.0005_cycles_of_four_sectors", "load_years"),
    ("compliance.carryover_seed", "load_schemes"),
    ("cets.common.migrations.0006_job_sweep_schedule", "schedule"),
]


def _reload_seeded_reference_data():
    import importlib

    from django.apps import apps

    from entities.models import Province

    if Province.objects.exists():  # nothing was flushed (the first transactional test)
        return
    for module, function in SEEDS:
        getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture(autouse=True)
def _english_by_default():
    """Assertions read English messages; the zh-hans UI is tested explicitly (tests/test_i18n.py)."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def client():
    """Django's test client, asking for English pages like ``api()`` does."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def _caches_clear():
    """Each test starts with empty caches: the calendar's "years filled" (each test's database starts
    without them) and the locmem cache (log-in failure counts, throttles)."""
    from django.core.cache import cache

    from cets.common.calendar import _year_known

    _year_known.cache_clear()
    cache.clear()


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def national(db):
    return f.regulator(User.Role.NATIONAL_REGULATOR, username="mee")


@pytest.fixture
def hubei(db):
    """Provincial regulator of Hubei (42)."""
    return f.regulator(User.Role.PROVINCIAL_REGULATOR, province_code="42", username="hubei")


@pytest.fixture
def guangdong(db):
    """Provincial regulator of Guangdong (44): must never see Hubei's data."""
    return f.regulator(User.Role.PROVINCIAL_REGULATOR, province_code="44", username="guangdong")


@pytest.fixture
def wuhan(db):
    """Municipal regulator of Wuhan (420100)."""
    return f.regulator(User.Role.MUNICIPAL_REGULATOR, province_code="42", city_code="420100", username="wuhan")


@pytest.fixture
def entity(db):
    """A Hubei power company in Wuhan with two coal units."""
    ent = f.EntityFactory(name="武汉示范发电有限公司", province=f.province("42"), city=f.city("420100"))
    f.UnitFactory(entity=ent, code="HB-WH-01", rated_power_mw=660)
    f.UnitFactory(entity=ent, code="HB-WH-02", rated_power_mw=330, is_chp=True)
    return ent


@pytest.fixture
def other_entity(db):
    """A Guangdong company: the "other organisation" of every permission test."""
    ent = f.EntityFactory(name="广州测试电厂", province=f.province("44"), city=f.city("440100"))
    f.UnitFactory(entity=ent, code="GD-GZ-01", rated_power_mw=1000)
    return ent


@pytest.fixture
def entity_user(entity):
    return f.UserFactory(role=User.Role.ENTITY, entity=entity, username="carbon-manager")


@pytest.fixture
def other_entity_user(other_entity):
    return f.UserFactory(role=User.Role.ENTITY, entity=other_entity, username="other-manager")


@pytest.fixture
def agency(db):
    return f.OrganisationFactory(name="中环核查技术有限公司")


@pytest.fixture
def verifier(agency):
    return f.UserFactory(role=User.Role.VERIFIER, organisation=agency, username="verifier")


@pytest.fixture
def integrator(entity):
    return f.UserFactory(role=User.Role.INTEGRATOR, entity=entity, username="integrator")


def step_up_fresh(client, user):
    """Record in ``client``'s session that ``user`` gave an authenticator code just now (a sign-off then passes
    cets.common.stepup for 5 minutes), as a code typed at log-in or at a sign-off does."""
    import time

    from cets.common.stepup import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = {"user": user.pk, "at": time.time()}
    session.save()
    return client


def api_client(user=None, *, otp: bool = False) -> APIClient:
    """An API client authenticated as ``user``; ``otp=True``: its session also holds a fresh step-up code, as a
    regulator's after typing a code, so four-eyes sign-offs pass (tests/test_two_factor.py tests the refusals)."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
        if otp:
            step_up_fresh(client, user)
    return client


@pytest.fixture
def api():
    """``api(user)``: an API client authenticated as ``user`` (or anonymous with no argument);
    ``api(user, otp=True)`` for a regulator signing off (a fresh authenticator code in its session)."""
    return api_client


def otp_login(client, user):
    """Log ``client`` in as ``user`` as the portal log-in does: a user who must use two factors (regulators,
    exchange staff) is verified by their TOTP device, as the portal and /admin/ require, with a fresh step-up
    (as after typing the code at log-in); others by password only."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if not user.must_use_two_factor or device is None:
        return client
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return step_up_fresh(client, user)


@pytest.fixture
def admin_login():
    """``admin_login(client, user)``: a test client logged in with a verified TOTP device and a fresh step-up."""
    return otp_login
