"""API plumbing shared by every app: the one error shape and Idempotency-Key replay."""

import functools
import hashlib
import json

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError
from .models import IdempotencyRecord


def _first_error(detail, prefix: str = "") -> tuple[str | None, str, str]:
    """Walk a DRF error detail to its first message: (field, message, code)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else None
            joiner = "." if prefix and not prefix.endswith(".") else ""
            field, message, code = _first_error(value, f"{prefix}{joiner}{name}" if name else prefix)
            return field or (prefix.rstrip(".") or None), message, code
    if isinstance(detail, list) and detail:
        for index, item in enumerate(detail):
            if item:
                sub = f"{prefix}[{index}]." if isinstance(item, dict) else prefix
                return _first_error(item, sub)
    return (prefix.rstrip(".") or None), str(detail), getattr(detail, "code", "invalid")


def error_response(code: str, message: str, field: str | None, http_status: int, details=None) -> Response:
    body = {"error": {"code": code, "message": message, "field": field}}
    if details is not None:
        body["error"]["details"] = details
    return Response(body, status=http_status)


def exception_handler(exc, context):
    """Turn domain errors, Django validation errors and DRF errors into one JSON shape."""
    if isinstance(exc, DomainError):
        return error_response(exc.code, str(exc.message), exc.field, exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.error_dict.items()))
            message = errors[0].messages[0]
            return error_response("invalid", message, None if field == "__all__" else field, 400,
                                  exc.message_dict)
        return error_response("invalid", exc.messages[0], None, 400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, message, code = _first_error(exc.detail)
        response.data = {"error": {"code": code or "invalid", "message": message, "field": field,
                                   "details": exc.detail}}
    else:
        detail = getattr(exc, "detail", "")
        response.data = {"error": {"code": getattr(detail, "code", None) or exc.default_code,
                                   "message": str(detail), "field": None}}
    return response


def idempotent(view_method):
    """Replay the first answer to a write repeated with the same ``Idempotency-Key`` header.

    The record is inserted in the same transaction as the write: a concurrent repeat waits on the
    unique key, then replays the committed answer, so the write happens exactly once. The same
    key with a different body is refused (422), as Stripe and pretix do.
    """

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 128:
            return error_response("invalid", "Idempotency-Key is longer than 128 characters.",
                                  "Idempotency-Key", 400)
        data = request.data
        if isinstance(data, dict) and "otp_code" in data:  # a retry's new authenticator code: the same request
            data = {k: v for k, v in data.items() if k != "otp_code"}
        body = json.dumps(data, sort_keys=True, default=str)
        digest = hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
        replay = _replay(request, key, digest)
        if replay is not None:
            return replay
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=request.user, key=key, method=request.method, path=request.path[:300],
                    request_hash=digest,
                )
                try:
                    response = view_method(self, request, *args, **kwargs)
                except Exception as exc:
                    response = self.handle_exception(exc)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    return response
                record.status_code = response.status_code
                record.response = json.loads(json.dumps(response.data, default=str))
                record.save(update_fields=["status_code", "response"])
                return response
        except IntegrityError:
            replay = _replay(request, key, digest)
            if replay is not None:
                return replay
            raise

    return wrapper


def _replay(request, key: str, digest: str) -> Response | None:
    record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
    if record is None:
        return None
    if record.request_hash != digest:
        return error_response("idempotency_key_reused",
                              "This Idempotency-Key was used for a different request.",
                              "Idempotency-Key", status.HTTP_422_UNPROCESSABLE_ENTITY)
    response = Response(record.response, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def validated(serializer_class, request, **kwargs) -> dict:
    """The request body as ``serializer_class`` validates it; otherwise a 400 naming the field and the rule."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
