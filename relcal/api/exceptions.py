"""The API's error format: DRF's, plus the exceptions services raise, as JSON with field names.

- ``django.core.exceptions.ValidationError`` → 400, keyed by field (``non_field_errors`` for
  the rest);
- ``PermissionDenied`` → 403 and ``Http404`` → 404, with the service's sentence;
- ``relcal.errors.Conflict`` → 409: its sentence in ``detail`` and its details beside it;
- ``relcal.lockout.Locked`` (too many wrong passwords) → 429 with ``Retry-After``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from relcal import errors, lockout


class _ConflictResponse(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


class _LockedResponse(exceptions.APIException):
    status_code = 429
    default_code = "locked"


def _django_validation_detail(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        detail = {}
        for field, messages in error.message_dict.items():
            detail["non_field_errors" if field == "__all__" else field] = messages
        return detail
    return {"non_field_errors": error.messages}


def exception_handler(exc, context):
    if isinstance(exc, errors.Conflict):
        response = drf_exception_handler(_ConflictResponse(exc.message), context)
        response.data.update(exc.details)
        return response
    if isinstance(exc, lockout.Locked):
        response = drf_exception_handler(_LockedResponse(exc.message_text), context)
        response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    return drf_exception_handler(exc, context)
