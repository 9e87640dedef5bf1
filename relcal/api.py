"""API machinery shared by every app: pagination, error format, strict datetimes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler as drf_exception_handler

from . import errors


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class DomainConflict(exceptions.APIException):
    """``relcal.errors.Conflict`` as a 409: the sentence in ``detail``, the rest alongside."""

    status_code = 409
    default_code = "conflict"

    def __init__(self, conflict: errors.Conflict) -> None:
        super().__init__(conflict.message)
        self.details = conflict.details


def _django_validation_detail(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        detail = {}
        for field, messages in error.message_dict.items():
            detail["non_field_errors" if field == "__all__" else field] = messages
        return detail
    return {"non_field_errors": error.messages}


def exception_handler(exc, context):
    """DRF's handler, plus the Django exceptions that services raise, as JSON with field names."""
    if isinstance(exc, errors.Conflict):
        response = drf_exception_handler(DomainConflict(exc), context)
        response.data.update(exc.details)
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    return drf_exception_handler(exc, context)


class AwareDateTimeField(serializers.DateTimeField):
    """Refuses datetimes without a UTC offset instead of guessing the server's zone."""

    default_error_messages = {
        "naive": "Include a UTC offset, e.g. 2026-12-01T14:00:00+01:00 or …Z.",
    }

    def enforce_timezone(self, value):
        if value.tzinfo is None:
            self.fail("naive")
        return super().enforce_timezone(value)


class ModelSerializer(serializers.ModelSerializer):
    """Project base serializer: every model DateTimeField becomes an AwareDateTimeField."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: AwareDateTimeField,
    }
