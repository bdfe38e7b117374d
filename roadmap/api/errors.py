"""One error format for every 4xx answer of the API.

Every refusal reads ``{"error": {"code": "...", "message": "...", "fields": {...}}}``:
``code`` is stable (scripts branch on it), ``message`` is for a person, and
``fields`` maps input fields to their problems (empty when none). Domain errors
raised by the services are mapped here, in one table, to their HTTP status.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from probes.services.ingest import Rejected
from probes.services.runs import RunError
from roadmap.services.claims import AlreadyClaimed, ClaimError, InvalidRole, NotActive, NotAllowed

# Service errors -> HTTP status. A ClaimError carries its own stable ``code``.
CLAIM_STATUS: dict[type[ClaimError], int] = {
    NotAllowed: status.HTTP_403_FORBIDDEN,
    AlreadyClaimed: status.HTTP_409_CONFLICT,
    NotActive: status.HTTP_409_CONFLICT,
    InvalidRole: status.HTTP_400_BAD_REQUEST,
}


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _first_message(detail: Any) -> str:
    """The first human message in a DRF error detail (a string, list or dict)."""
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def _validation_error(exc: exceptions.ValidationError) -> dict[str, Any]:
    detail = exc.detail
    if isinstance(detail, dict):
        first_field = next(iter(detail), "")
        message = _first_message(detail) or "invalid input"
        if first_field and first_field != "non_field_errors":
            message = f"{first_field}: {message}"
        return error_body("invalid", message, detail)
    return error_body("invalid", _first_message(detail) or "invalid input")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known refusal in the one format; the rest re-raised."""
    if isinstance(exc, ClaimError):
        fields = {"role": [str(exc)]} if isinstance(exc, InvalidRole) else None
        return Response(error_body(exc.code, str(exc), fields), status=CLAIM_STATUS[type(exc)])
    if isinstance(exc, RunError):
        return Response(error_body("run_refused", str(exc)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Rejected):
        return Response(error_body("rejected", str(exc)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        # The database refused a value (a NUL character, a number out of range): bad input.
        message = "a value in the request cannot be stored or looked up"
        return Response(error_body("invalid", message), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django report it
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_error(exc)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(code, _first_message(exc.detail))
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: unknown URLs under /api/ answer in the API's format; pages keep theirs."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "No such resource."), status=404)
    return defaults.page_not_found(request, exception)
