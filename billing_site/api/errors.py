"""One error shape for the whole API: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from billing_site.errors import DomainError

logger = logging.getLogger(__name__)

DOMAIN_STATUS = {"not_found": status.HTTP_404_NOT_FOUND}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> dict:
    """DRF's nested error detail → {"field": ["message", …], "items.0.up_to": [...]}."""
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        else:
            messages = value if isinstance(value, list) else [value]
            fields.setdefault(prefix or "non_field_errors", []).extend(str(m) for m in messages)

    walk("", detail)
    return fields


def _validation_message(fields: dict) -> str:
    if list(fields) == ["non_field_errors"]:
        return fields["non_field_errors"][0]
    names = ", ".join(name for name in fields if name != "non_field_errors")
    return f"Some fields are not valid: {names}." if names else "The request is not valid."


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields), status=DOMAIN_STATUS.get(exc.code, 400))
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Nothing was found at this address.")
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        fields = _flatten(exc.detail)
        return Response(error_body("invalid", _validation_message(fields), fields), status=400)
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        return Response(error_body(code, detail), status=exc.status_code, headers=headers)
    logger.exception("Unhandled error in API view", exc_info=exc)
    set_rollback()
    return Response(
        error_body("server_error", "Something went wrong on our side. Nothing was changed; please try again."),
        status=500,
    )


def api_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Nothing was found at this address."), status=404)
