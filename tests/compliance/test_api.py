"""The compliance API: surrender (idempotent), reads scoped by entity and jurisdiction, regulator actions."""

from decimal import Decimal

import pytest

from compliance import services
from compliance.models import Obligation, Penalty, ReliefDecision, SurrenderStep

pytestmark = pytest.mark.django_db

URL = "/api/v1/compliance"


def surrender_url(ob):
    return f"{URL}/obligations/{ob.pk}/surrender/"


def test_surrender_idempotent_and_shows_remaining(api, entity_user, ob2021, entity, give):
    give(entity, 2021, 700_000)
    give(entity, 2022, 5)
    holdings = api(entity_user).get(f"{URL}/obligations/{ob2021.pk}/").json()["holdings"]
    assert [(h["instrument"], h["available"], h["eligible"]) for h in holdings] == [
        ("CEA21", 700_000, True), ("CEA22", 5, False)]
    body = {"items": [{"kind": "cea", "vintage": 2021, "quantity": 600_000}]}
    first = api(entity_user).post(surrender_url(ob2021), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.json()
    assert first.json()["obligation"]["remaining_tco2"] == 400_000
    assert first.json()["steps"][0]["instrument_code"] == "CEA21"
    again = api(entity_user).post(surrender_url(ob2021), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert SurrenderStep.objects.count() == 1
    ob2021.refresh_from_db()
    assert ob2021.surrendered_tco2 == 600_000


@pytest.mark.parametrize("items,status,field", [
    ([{"kind": "cea", "vintage": 2021, "quantity": 1_000_001}], 400, "items"),
    ([{"kind": "cea", "vintage": 2022, "quantity": 1}], 400, "items[0].vintage"),
    ([{"kind": "cea", "vintage": 2021, "quantity": -5}], 400, "items[0].quantity"),
    ([], 400, "items"),
    ([{"kind": "ccer", "instrument": "CCER-NOPE-2022", "quantity": 10}], 400, "instrument"),
])
def test_surrender_bad_input_names_field_nothing_changed(api, entity_user, ob2021, entity, give, items, status,
                                                         field):
    give(entity, 2021, 10)
    response = api(entity_user).post(surrender_url(ob2021), {"items": items}, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["error"]["field"] == field
    assert SurrenderStep.objects.count() == 0


def test_surrender_refused_for_other_entity_and_regulators(api, other_entity_user, hubei, national, ob2021):
    body = {"items": [{"kind": "cea", "vintage": 2021, "quantity": 1}]}
    assert api(other_entity_user).post(surrender_url(ob2021), body, format="json").status_code == 404
    assert api(hubei).post(surrender_url(ob2021), body, format="json").status_code == 404
    assert api().post(surrender_url(ob2021), body, format="json").status_code in (401, 403)


def test_obligation_reads_are_scoped(api, entity_user, other_entity_user, hubei, guangdong, wuhan, national,
                                     obligations, entity, other_entity):
    def ids(user):
        return sorted(r["entity"] for r in api(user).get(f"{URL}/obligations/").json()["results"])

    assert ids(entity_user) == [entity.pk, entity.pk]
    assert ids(other_entity_user) == [other_entity.pk]
    assert ids(hubei) == [entity.pk, entity.pk]
    assert ids(wuhan) == [entity.pk, entity.pk]
    assert ids(guangdong) == [other_entity.pk]
    assert len(ids(national)) == 3
    ob = obligations[(entity.pk, 2021)]
    detail = api(entity_user).get(f"{URL}/obligations/{ob.pk}/").json()
    assert (detail["offset_cap_tco2"], detail["eligible_vintages"]) == (50_000, [2019, 2021])
    assert detail["holdings"] == []
    assert api(other_entity_user).get(f"{URL}/obligations/{ob.pk}/").status_code == 404
    assert api(guangdong).get(f"{URL}/obligations/{ob.pk}/").status_code == 404


def test_cycles_public_and_close_national_only(api, hubei, entity_user, national, cycle, obligations,
                                               django_capture_on_commit_callbacks):
    listing = api().get(f"{URL}/cycles/").json()
    second = next(c for c in listing if c["code"] == "2021-2022")
    assert (second["deadline"], second["eligible_vintages"]["2022"]) == ("2023-12-31", [2019, 2021, 2022])
    for user in (hubei, entity_user):
        assert api(user).post(f"{URL}/cycles/2021-2022/close/").status_code == 403
    assert api().post(f"{URL}/cycles/2021-2022/close/").status_code in (401, 403)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(national).post(f"{URL}/cycles/2021-2022/close/")
    assert response.status_code == 202
    again = api(national).post(f"{URL}/cycles/2021-2022/close/")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "cycle_closed")
    report = api().get(f"{URL}/cycles/2021-2022/report/").json()
    assert report["years"]["2021"]["verified_tco2"] == 1_500_000
    assert report["years"]["2021"]["compliance_rate_pct"] == "0.00"
    assert {p["code"] for p in report["provinces"]} == {"42", "44"}


def test_relief_and_penalty_endpoints_four_eyes_and_scope(api, hubei, hubei2, guangdong, entity_user, national,
                                                         ob2021, cycle, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    body = {"obligation": ob2021.pk, "quantity": 10_000, "reason": "Wuhan district heating"}
    assert api(guangdong).post(f"{URL}/reliefs/", body, format="json").status_code == 404
    assert api(entity_user).post(f"{URL}/reliefs/", body, format="json").status_code == 403
    created = api(hubei).post(f"{URL}/reliefs/", body, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    decide, yes = f"{URL}/reliefs/{pk}/decide/", {"approve": True}
    assert api(hubei, otp=True).post(decide, yes, format="json").status_code == 403
    assert api(guangdong, otp=True).post(decide, yes, format="json").status_code == 404
    assert api(hubei2, otp=True).post(decide, yes, format="json").status_code == 200
    assert ReliefDecision.objects.get().status == "approved"
    ob2021.refresh_from_db()
    assert ob2021.quantity_tco2 == 990_000
    with django_capture_on_commit_callbacks(execute=True):
        services.cycle_close(actor=national, cycle=cycle)
    monkeypatch.setattr(services, "market_average_price", lambda month: Decimal("60.00"))
    bad = api(hubei).post(f"{URL}/penalties/", {"obligation": ob2021.pk, "multiplier": "4"}, format="json")
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "multiplier")
    ok = api(hubei).post(f"{URL}/penalties/", {"obligation": ob2021.pk, "multiplier": "7.5"}, format="json")
    assert ok.status_code == 201 and ok.json()["amount"] == "445500000.00"  # 60 x 990,000 x 7.5
    penalty_pk = ok.json()["id"]
    assert api(guangdong, otp=True).post(f"{URL}/penalties/{penalty_pk}/decide/").status_code == 404
    assert api(hubei, otp=True).post(f"{URL}/penalties/{penalty_pk}/decide/").status_code == 403
    assert api(national, otp=True).post(f"{URL}/penalties/{penalty_pk}/decide/").status_code == 200
    assert Penalty.objects.get().status == "decided"
    assert api(entity_user).get(f"{URL}/penalties/").json()["count"] == 1
    assert api(guangdong).get(f"{URL}/penalties/").json()["count"] == 0


def test_risk_list_regulators_only(api, entity_user, hubei, guangdong, cycle, obligations):
    services.risk_scan(cycle=cycle, on_date=cycle.deadline.replace(month=11, day=1))
    assert api(entity_user).get(f"{URL}/cycles/2021-2022/risk/").status_code == 403
    rows = api(hubei).get(f"{URL}/cycles/2021-2022/risk/").json()
    assert [(r["province"], r["gap_tco2"]) for r in rows] == [("42", 2_200_000)]
    assert [r["province"] for r in api(guangdong).get(f"{URL}/cycles/2021-2022/risk/").json()] == ["44"]
    warnings = api(entity_user).get(f"{URL}/warnings/").json()["results"]
    assert [(w["horizon_days"], w["level"]) for w in warnings] == [(60, "critical")]


def test_certificate_verify_public(api, entity_user, other_entity_user, ob2021, entity, give, national, cycle,
                                   django_capture_on_commit_callbacks):
    from .conftest import BEFORE_DEADLINE

    give(entity, 2021, 1_000_000)
    services.surrender(actor=entity_user, obligation=ob2021, items=[{"kind": "cea", "vintage": 2021,
                                                                     "quantity": 1_000_000}], on_date=BEFORE_DEADLINE)
    with django_capture_on_commit_callbacks(execute=True):
        services.cycle_close(actor=national, cycle=cycle)
    code = Obligation.objects.get(pk=ob2021.pk).certificate.code
    ok = api().get(f"{URL}/certificates/{code}/").json()
    assert ok["valid"] is True and ok["content"]["cea_tco2"] == 1_000_000
    assert api().get(f"{URL}/certificates/FAKE/").status_code == 404
    pdf = api(entity_user).get(f"{URL}/obligations/{ob2021.pk}/certificate/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"STSong-Light" in pdf.content
    assert api(other_entity_user).get(f"{URL}/obligations/{ob2021.pk}/certificate/").status_code == 404


def test_lists_pin_queries_and_scope_warnings(api, national, other_entity_user, cycle, obligations,
                                              django_assert_max_num_queries):
    services.risk_scan(cycle=cycle, on_date=cycle.deadline.replace(month=11, day=1))
    client = api(national)
    with django_assert_max_num_queries(6):
        assert client.get(f"{URL}/obligations/").json()["count"] == 3
    with django_assert_max_num_queries(6):
        assert client.get(f"{URL}/warnings/").json()["count"] == 2
    own = api(other_entity_user).get(f"{URL}/warnings/").json()["results"]
    assert [w["entity_name"] for w in own] == ["广州测试电厂"]
    hubei_only = api().get(f"{URL}/cycles/2021-2022/report/?province=42").json()
    assert hubei_only["years"]["2021"]["verified_tco2"] == 1_000_000 and hubei_only["provinces"] == []


def test_obligations_set_by_national_from_api(api, national, hubei, entity, cycle):
    from .conftest import confirm

    confirm(entity, 2022, "750000.5")
    url = f"{URL}/cycles/2021-2022/obligations/"
    assert api(hubei).post(url, {"year": 2022}, format="json").status_code == 403
    bad = api(national).post(url, {"year": 2023}, format="json")
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "year")
    ok = api(national).post(url, {"year": 2022}, format="json")
    assert ok.json() == {"year": 2022, "created": 1, "updated": 0, "unchanged": 0}
    assert Obligation.objects.get(entity=entity).quantity_tco2 == 750_001
