"""Registry API: scoping, transfers and surrenders with Idempotency-Key, approvals, public reads."""

import pytest

from registry import selectors, services
from registry.models import Transaction

from .conftest import assert_ledger_sound

pytestmark = pytest.mark.django_db
BASE = "/api/v1/registry"


@pytest.fixture
def funded(fund, cea21, entity_account):
    return fund(entity_account, cea21, 1_000)


def test_accounts_are_scoped(api, entity_user, other_entity_user, hubei, guangdong, national, entity_account,
                             other_account):
    numbers = lambda user: {a["number"] for a in api(user).get(f"{BASE}/accounts/").json()["results"]}  # noqa: E731
    assert numbers(entity_user) == {entity_account.number}
    assert numbers(other_entity_user) == {other_account.number}
    assert numbers(hubei) == {entity_account.number}
    assert entity_account.number not in numbers(guangdong)
    services.national_account(kind="national_surrender")
    assert len(numbers(national)) == 3
    assert api(other_entity_user).get(f"{BASE}/accounts/{entity_account.pk}/").status_code == 404
    assert api(guangdong).get(f"{BASE}/accounts/{entity_account.pk}/").status_code == 404
    assert api().get(f"{BASE}/accounts/").status_code in (401, 403)


def test_holdings(api, funded, cea21, entity_user, other_entity_user):
    rows = api(entity_user).get(f"{BASE}/holdings/").json()["results"]
    assert rows == [{"account": funded.number, "instrument": "CEA21", "vintage": 2021, "total": 1_000,
                     "available": 1_000, "reserved": 0, "frozen": 0}]
    assert api(other_entity_user).get(f"{BASE}/holdings/").json()["results"] == []


def test_transfer_with_idempotency_key_happens_once(api, funded, cea21, entity_user, other_account):
    client = api(entity_user)
    body = {"from_account": funded.pk, "to_account": other_account.number, "instrument": "CEA21", "quantity": 250,
            "reference": "contract 12"}
    first = client.post(f"{BASE}/transfers/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "delayed" and first.json()["quantity"] == 250
    again = client.post(f"{BASE}/transfers/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Transaction.objects.filter(kind="transfer").count() == 1
    assert selectors.balance(funded, cea21).reserved == 250
    other = client.post(f"{BASE}/transfers/", body | {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422
    assert_ledger_sound()


@pytest.mark.parametrize("change, status, field", [
    ({"quantity": 0}, 400, "quantity"),
    ({"quantity": -3}, 400, "quantity"),
    ({"quantity": 2.5}, 400, "quantity"),
    ({"quantity": 10**15}, 400, "quantity"),
    ({"quantity": 1_001}, 400, "quantity"),
    ({"instrument": "CEA22"}, 404, "instrument"),
    ({"to_account": "CN-300-9999999"}, 404, "to_account"),
])
def test_bad_transfers_are_refused_with_the_field(api, funded, entity_user, other_account, change, status, field):
    body = {"from_account": funded.pk, "to_account": other_account.number, "instrument": "CEA21", "quantity": 5}
    response = api(entity_user).post(f"{BASE}/transfers/", body | change, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["error"]["field"] == field
    assert Transaction.objects.filter(kind="transfer").count() == 0


def test_transfer_to_oneself_and_from_another_entity(api, funded, entity_user, other_entity_user, other_account):
    body = {"from_account": funded.pk, "to_account": funded.number, "instrument": "CEA21", "quantity": 5}
    response = api(entity_user).post(f"{BASE}/transfers/", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "same_account"
    body["to_account"] = other_account.number
    response = api(other_entity_user).post(f"{BASE}/transfers/", body, format="json")
    assert response.status_code == 404 and response.json()["error"]["field"] == "from_account"
    assert Transaction.objects.filter(kind="transfer").count() == 0


def test_surrender_endpoint_needs_an_obligation(api, funded, cea21, entity_user, other_entity_user):
    """The path is served by compliance (tests/compliance/test_one_record.py): no obligation, no surrender."""
    body = {"account": funded.pk, "instrument": "CEA21", "quantity": 600, "compliance_year": 2021}
    assert api(other_entity_user).post(f"{BASE}/surrenders/", body, format="json").status_code == 404
    response = api(entity_user).post(f"{BASE}/surrenders/", body, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("no_obligation",
                                                                                     "compliance_year")
    assert selectors.balance(funded, cea21).total == 1_000
    assert selectors.surrendered_for(account=funded, compliance_year=2021)["cea"] == 0


def test_approvals_queue_and_four_eyes(api, national, national2, hubei, cea21):
    tx = services.issuance_propose(actor=national, instrument=cea21, quantity=5_000)
    assert [t["id"] for t in api(national2).get(f"{BASE}/transactions/approvals/").json()["results"]] == [tx.pk]
    assert api(national).get(f"{BASE}/transactions/approvals/").json()["results"] == []
    assert api(hubei).get(f"{BASE}/transactions/approvals/").json()["results"] == []
    own = api(national, otp=True).post(f"{BASE}/transactions/{tx.pk}/approve/")
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_proposal"
    assert api(hubei, otp=True).post(f"{BASE}/transactions/{tx.pk}/approve/").status_code == 404
    done = api(national2, otp=True).post(f"{BASE}/transactions/{tx.pk}/approve/", HTTP_IDEMPOTENCY_KEY="a-1")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    again = api(national2, otp=True).post(f"{BASE}/transactions/{tx.pk}/approve/", HTTP_IDEMPOTENCY_KEY="a-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert api(national2, otp=True).post(f"{BASE}/transactions/{tx.pk}/approve/").status_code == 409
    detail = api(national).get(f"{BASE}/transactions/{tx.pk}/").json()
    assert detail["legs"][0]["serials"] == "CN-CEA21-000000000001…CN-CEA21-000000005000"


def test_transactions_scoped_and_cancel(api, funded, cea21, entity_user, other_entity_user, other_account):
    tx = services.transfer_create(actor=entity_user, from_account=funded, to_account=other_account,
                                  instrument=cea21, quantity=10)
    mine = {t["id"] for t in api(entity_user).get(f"{BASE}/transactions/").json()["results"]}
    assert tx.pk in mine and any(t for t in mine if t != tx.pk)  # the allocation reached it through its legs
    theirs = {t["id"] for t in api(other_entity_user).get(f"{BASE}/transactions/").json()["results"]}
    assert tx.pk in theirs  # the recipient sees the incoming transfer
    assert api(other_entity_user).post(f"{BASE}/transactions/{tx.pk}/cancel/").status_code == 403
    response = api(entity_user).post(f"{BASE}/transactions/{tx.pk}/cancel/", {"reason": "typo"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert selectors.balance(funded, cea21).available == 1_000


def test_public_totals_and_serial_trace(api, funded, cea21, entity_account):
    rows = api().get(f"{BASE}/public/vintages/").json()
    assert rows == [{"instrument": "CEA21", "kind": "cea", "vintage": 2021, "issued": 1_000, "allocated": 1_000,
                     "surrendered": 0, "cancelled": 0, "retired": 0, "carried_over": 0,
                     "deleted": 0}]
    trace = api().get(f"{BASE}/public/serials/CN-CEA21-000000000007/").json()
    assert [e["kind"] for e in trace["events"]] == ["issuance", "delivery", "allocation"]
    assert trace["held_in"] == "Entity holding account" and entity_account.number not in str(trace)
    assert api().get(f"{BASE}/public/serials/CN-CEA99-000000000007/").status_code == 404


def test_reject_refused_to_other_roles_and_needs_a_reason(api, national, national2, entity_user, cea21):
    tx = services.issuance_propose(actor=national, instrument=cea21, quantity=10)
    assert api(entity_user).post(f"{BASE}/transactions/{tx.pk}/reject/", {"reason": "no"}).status_code == 404
    response = api(national2).post(f"{BASE}/transactions/{tx.pk}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "reason"
    response = api(national2).post(f"{BASE}/transactions/{tx.pk}/reject/", {"reason": "duplicate"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "rejected"


@pytest.mark.parametrize("path", ["accounts", "holdings", "transactions"])
def test_list_query_counts_do_not_grow_with_rows(api, national, fund, cea21, path, django_assert_max_num_queries):
    from tests import factories as f

    for _ in range(6):
        fund(services.account_for_entity(entity=f.EntityFactory()), cea21, 10)
    with django_assert_max_num_queries(6):
        response = api(national).get(f"{BASE}/{path}/")
    assert response.status_code == 200 and response.json()["count"] >= 6
