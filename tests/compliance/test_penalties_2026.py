"""Penalties after 2026-08-15 (Ecological Environment Code): the fine for failure to surrender stays, no NEW
allocation cut for it is decided (cuts decided earlier stand), the cut for uncorrected falsification stays."""

import datetime as dt
from decimal import Decimal

import pytest

from allowances.models import AllocationDeduction
from cets.common.errors import Conflict, DomainError, Forbidden, NotFound
from compliance import falsification, penalties, services
from compliance.models import Obligation, Penalty

from .test_services import close  # noqa: F401
from .test_years_2025 import owe, snapshot

pytestmark = pytest.mark.django_db


def test_cut_rule_by_date_and_kind():
    penalties.check_cut_allowed(penalties.NON_SURRENDER, dt.date(2026, 8, 14))
    penalties.check_cut_allowed(penalties.FALSIFICATION, dt.date(2026, 12, 6))
    with pytest.raises(Conflict) as exc:
        penalties.check_cut_allowed(penalties.NON_SURRENDER, dt.date(2026, 8, 15))
    assert (exc.value.code, exc.value.field) == ("deduction_no_longer_decided", "penalty")
    assert "Ecological Environment Code" in exc.value.message


def test_non_surrender_cut_after_2026_08_15_refused_nothing_changed(cycle, obligations, other_entity, national,
                                                                    guangdong, give, monkeypatch, close):  # noqa: F811
    give(other_entity, 2021, 1_000)
    close(cycle, national)
    ob = obligations[(other_entity.pk, 2021)]
    ob.refresh_from_db()
    monkeypatch.setattr(services, "market_average_price", lambda month: Decimal("70.25"))
    penalty = services.penalty_propose(actor=guangdong, obligation=ob, multiplier="5")
    services.penalty_decide(actor=national, penalty=penalty)
    AllocationDeduction.objects.create(entity=other_entity, quantity_tco2=7, reference="decided-2026-08-01",
                                       reason="decided before the Code", decided_by=national)
    before = (snapshot(), list(AllocationDeduction.objects.values_list("reference", "quantity_tco2", "status")),
              list(Obligation.objects.values_list("pk", "status", "shortfall_tco2").order_by("pk")))
    monkeypatch.setattr(services, "_today", lambda: dt.date(2026, 9, 1))
    with pytest.raises(Conflict) as exc:
        services.penalty_deduction_propose(actor=guangdong, penalty=penalty)
    assert (exc.value.code, exc.value.field) == ("deduction_no_longer_decided", "penalty")
    assert "2026-08-15" in exc.value.message
    after = (snapshot(), list(AllocationDeduction.objects.values_list("reference", "quantity_tco2", "status")),
             list(Obligation.objects.values_list("pk", "status", "shortfall_tco2").order_by("pk")))
    assert after == before  # the earlier cut stands, no new one, balances and obligations unchanged
    penalty.refresh_from_db()
    assert (penalty.status, penalty.shortfall_tco2, penalty.amount) == ("decided", 500_000, Decimal("175625000.00"))
    assert Penalty.objects.count() == 1


@pytest.fixture
def ob2024(other_entity):
    return owe(other_entity, 2024, 1_000_000, allocation=900_001)


def test_falsification_cut_stays_after_2026_08_15(ob2024, other_entity, national, guangdong, monkeypatch):
    penalty = falsification.falsification_propose(actor=guangdong, obligation=ob2024, fine="1500000",
                                                  cut_pct=50, finding="coal carbon content test reports forged")
    with pytest.raises(Forbidden):
        falsification.falsification_decide(actor=guangdong, penalty=penalty)  # four-eyes
    falsification.falsification_decide(actor=national, penalty=penalty)
    monkeypatch.setattr(falsification, "_today", lambda: dt.date(2026, 12, 6))
    deduction = falsification.falsification_cut_propose(actor=guangdong, penalty=penalty)
    assert (deduction.entity, deduction.quantity_tco2, deduction.status, deduction.reference) == (
        other_entity, 450_000, "pending", f"falsification-{penalty.pk}")  # 50% of 900,001 t, rounded down
    with pytest.raises(Conflict) as again:
        falsification.falsification_cut_propose(actor=guangdong, penalty=penalty)
    assert again.value.code == "deduction_exists"
    assert AllocationDeduction.objects.count() == 1


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"cut_pct": 40}, "invalid_cut_pct", "cut_pct"),
    ({"cut_pct": 101}, "invalid_cut_pct", "cut_pct"),
    ({"fine": "0"}, "invalid_fine", "fine"),
    ({"finding": " "}, "required", "finding"),
])
def test_falsification_bad_input_refused(ob2024, guangdong, fields, code, field):
    values = {"fine": "500000", "cut_pct": 50, "finding": "emissions under-reported", **fields}
    with pytest.raises(DomainError) as exc:
        falsification.falsification_propose(actor=guangdong, obligation=ob2024, **values)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert not ob2024.falsification_penalties.exists()


def test_falsification_by_another_province_or_an_entity_refused(ob2024, hubei, other_entity_user):
    with pytest.raises(NotFound):
        falsification.falsification_propose(actor=hubei, obligation=ob2024, fine="500000", cut_pct=50, finding="x")
    with pytest.raises(Forbidden):
        falsification.falsification_propose(actor=other_entity_user, obligation=ob2024, fine="500000", cut_pct=50,
                                            finding="x")
    assert not ob2024.falsification_penalties.exists()
