"""Idempotency-Key replay, the one JSON error shape, and row locks, through a tiny test-only API."""

import threading

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cets.common.api import idempotent, validated
from cets.common.errors import Busy, Conflict, DomainError, Forbidden, NotFound
from cets.common.locks import advisory_lock, lock_rows
from cets.common.models import IdempotencyRecord, Job
from entities.models import KeyEntity
from tests import factories as f

pytestmark = pytest.mark.django_db

ERRORS = {
    "domain": DomainError("Quantity must be a whole number of tonnes.", "invalid_quantity", "quantity"),
    "notfound": NotFound("No such account.", field="account"),
    "forbidden": Forbidden("Not your account."),
    "conflict": Conflict("Already surrendered.", "already_done"),
    "busy": Busy(),
    "django": DjangoValidationError({"price": ["Price is outside the band."]}),
}


class Echo(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1)


class EchoView(APIView):
    """Counts its calls in a Job row so the test can see whether the write happened again."""

    @idempotent
    def post(self, request):
        data = validated(Echo, request)
        job = Job.objects.create(kind="echo", total=data["quantity"], created_by=request.user)
        return Response({"job": job.pk, "quantity": job.total}, status=201)


class FailView(APIView):
    def get(self, request, kind):
        raise ERRORS[kind]


urlpatterns = [path("echo/", EchoView.as_view()), path("fail/<str:kind>/", FailView.as_view())]


@pytest.mark.urls(__name__)
def test_same_key_twice_writes_once_and_replays(api, entity_user):
    client = api(entity_user)
    first = client.post("/echo/", {"quantity": 7}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post("/echo/", {"quantity": 7}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Job.objects.filter(kind="echo").count() == 1


@pytest.mark.urls(__name__)
def test_same_key_different_body_is_refused(api, entity_user):
    client = api(entity_user)
    client.post("/echo/", {"quantity": 7}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = client.post("/echo/", {"quantity": 8}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert Job.objects.filter(kind="echo").count() == 1


@pytest.mark.urls(__name__)
def test_keys_are_per_user_and_absent_key_is_not_recorded(api, entity_user, other_entity_user):
    api(entity_user).post("/echo/", {"quantity": 7}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = api(other_entity_user).post("/echo/", {"quantity": 7}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert "Idempotent-Replayed" not in other
    api(entity_user).post("/echo/", {"quantity": 7}, format="json")
    api(entity_user).post("/echo/", {"quantity": 7}, format="json")
    assert Job.objects.filter(kind="echo").count() == 4
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.urls(__name__)
def test_a_refused_request_is_replayed_as_refused(api, entity_user):
    client = api(entity_user)
    first = client.post("/echo/", {"quantity": 0}, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    again = client.post("/echo/", {"quantity": 0}, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert first.status_code == again.status_code == 400
    assert again.json()["error"]["field"] == "quantity"
    assert Job.objects.count() == 0


@pytest.mark.urls(__name__)
def test_overlong_key_is_refused(api, entity_user):
    response = api(entity_user).post("/echo/", {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 129)
    assert response.status_code == 400 and response.json()["error"]["field"] == "Idempotency-Key"
    assert Job.objects.count() == 0


def test_entity_creation_is_idempotent(api, hubei):
    payload = {"name": "幂等测试公司", "credit_code": f.credit_code("420100"), "province": "42", "city": "420100",
               "inclusion_year": 2021}
    first = api(hubei).post("/api/v1/entities/", payload, format="json", HTTP_IDEMPOTENCY_KEY="ent-1")
    second = api(hubei).post("/api/v1/entities/", payload, format="json", HTTP_IDEMPOTENCY_KEY="ent-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true" and second.json()["id"] == first.json()["id"]
    assert KeyEntity.objects.count() == 1
    changed = api(hubei).post("/api/v1/entities/", {**payload, "name": "另一家"}, format="json",
                              HTTP_IDEMPOTENCY_KEY="ent-1")
    assert changed.status_code == 422
    assert KeyEntity.objects.count() == 1


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [
        ("domain", 400, {"code": "invalid_quantity", "message": "Quantity must be a whole number of tonnes.",
                         "field": "quantity"}),
        ("notfound", 404, {"code": "not_found", "message": "No such account.", "field": "account"}),
        ("forbidden", 403, {"code": "forbidden", "message": "Not your account.", "field": None}),
        ("conflict", 409, {"code": "already_done", "message": "Already surrendered.", "field": None}),
        ("busy", 409, {"code": "busy", "message": "The system is busy with this record; nothing was changed, "
                                                  "please retry.", "field": None}),
    ],
)
def test_domain_errors_have_one_shape(api, entity_user, kind, status, error):
    response = api(entity_user).get(f"/fail/{kind}/")
    assert response.status_code == status
    assert response.json() == {"error": error}


@pytest.mark.urls(__name__)
def test_django_validation_error_and_drf_errors_share_the_shape(api, entity_user):
    response = api(entity_user).get("/fail/django/")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "price"
    assert response.json()["error"]["message"] == "Price is outside the band."
    anonymous = api().get("/fail/domain/")
    assert anonymous.status_code in (401, 403)
    assert set(anonymous.json()["error"]) == {"code", "message", "field"}
    invalid = api(entity_user).post("/echo/", {"quantity": "many"}, format="json")
    assert invalid.json()["error"]["field"] == "quantity" and invalid.json()["error"]["code"] == "invalid"


@pytest.mark.django_db(transaction=True)
def test_lock_rows_refuses_to_run_outside_a_transaction(entity):
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        lock_rows(KeyEntity.objects.all())
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        advisory_lock(1)


def test_lock_rows_returns_rows_in_pk_order(entity, other_entity):
    with transaction.atomic():
        rows = lock_rows(KeyEntity.objects.order_by("-pk"))
    assert [r.pk for r in rows] == sorted([entity.pk, other_entity.pk])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_lock_timeout_becomes_busy(entity, settings):
    """A second transaction waiting longer than LOCK_TIMEOUT_MS gets Busy (409) and changes nothing."""
    settings.LOCK_TIMEOUT_MS = 200
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                lock_rows(KeyEntity.objects.filter(pk=entity.pk))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert holding.wait(10)
        with pytest.raises(Busy), transaction.atomic():
            lock_rows(KeyEntity.objects.filter(pk=entity.pk))
    finally:
        release.set()
        worker.join()
    with transaction.atomic():
        assert [r.pk for r in lock_rows(KeyEntity.objects.filter(pk=entity.pk))] == [entity.pk]
