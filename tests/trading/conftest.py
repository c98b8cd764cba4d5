"""Trading cast: a product, two entity participants and an institution with units and cash, a fixed clock.

The clock: Wednesday 2024-04-24 (a trading day) 10:00 Beijing time, inside the morning listed
session. ``at(hh, mm)`` moves it; services read it through ``trading.rules.market_now``.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from entities.models import Organisation, User
from registry import services as registry
from registry.models import Account
from tests import factories as f
from trading import books, delivery, rules
from trading.models import CashAccount, Product
from trading.services import cash_deposit, participant_open

DAY = dt.date(2024, 4, 24)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Freeze the market clock at 10:00 on a trading day; tests move it with ``clock.set(...)``."""

    class Clock:
        now = at(10)

        def set(self, moment):
            self.now = moment

    c = Clock()
    monkeypatch.setattr(rules, "market_now", lambda: c.now)
    books.books_forget()
    delivery.instruments_forget()
    yield c
    books.books_forget()
    delivery.instruments_forget()


@pytest.fixture
def product(db):
    """CEA23, seeded by the data migration; previous close 79.42 -> listed band 71.48-87.36."""
    return Product.objects.get(code="CEA23")


@pytest.fixture
def staff(db):
    exchange = f.OrganisationFactory(kind=Organisation.Kind.EXCHANGE, name="上海环境能源交易所")
    return f.UserFactory(role=User.Role.EXCHANGE_STAFF, organisation=exchange, username="settlement-staff")


def issue(instrument, quantity: int) -> None:
    """Issue units into the national allocation account (four-eyes by two national regulators)."""
    proposer = f.regulator(User.Role.NATIONAL_REGULATOR, username=f"mee-p-{instrument.pk}-{quantity}")
    approver = f.regulator(User.Role.NATIONAL_REGULATOR, username=f"mee-a-{instrument.pk}-{quantity}")
    tx = registry.issuance_propose(actor=proposer, instrument=instrument, quantity=quantity)
    registry.transaction_approve(actor=approver, transaction=tx)


def give_units(account, product, quantity: int) -> None:
    instrument = registry.instrument_get_or_create_cea(vintage=product.vintage)
    issue(instrument, quantity)
    source = registry.national_account(kind=Account.Kind.NATIONAL_ALLOCATION)
    registry.transfer_create(actor=None, from_account=source, to_account=account.registry_account,
                             instrument=instrument, quantity=quantity)


def give_cash(staff, account, amount, ref) -> None:
    cash_deposit(actor=staff, account=account, amount=Decimal(amount), bank_reference=ref)


def open_entity_account(entity):
    return participant_open(actor=None, entity=entity, registry_account=registry.account_for_entity(entity=entity))


@pytest.fixture
def seller_account(entity, product, staff):
    """The Hubei entity: 200,000 t of CEA23 and 1,000,000 yuan."""
    account = open_entity_account(entity)
    give_units(account, product, 200_000)
    give_cash(staff, account, "1000000.00", "BANK-S-1")
    return account


@pytest.fixture
def buyer_account(other_entity, product, staff):
    """The Guangdong entity: no units, 20,000,000 yuan."""
    account = open_entity_account(other_entity)
    give_cash(staff, account, "20000000.00", "BANK-B-1")
    return account


@pytest.fixture
def seller(entity_user):
    return entity_user


@pytest.fixture
def buyer(other_entity_user):
    return other_entity_user


def cash(account) -> tuple[Decimal, Decimal]:
    c = CashAccount.objects.get(account=account)
    return c.available, c.frozen


def units(account, product) -> tuple[int, int]:
    return delivery.holding(account, product)
