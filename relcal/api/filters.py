"""The filter backend of every list: each app's ``<app>/filters.py`` FilterSets, shared with its
pages, applied through django-filter."""

from __future__ import annotations

from datetime import datetime

from django_filters import rest_framework as filters
from django_filters.utils import translate_validation
from rest_framework import exceptions
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from relcal.times import OUT_OF_RANGE, as_utc

from .fields import NULL_CHARACTERS


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter, plus what would otherwise reach the database and answer a 500: NUL
    characters (PostgreSQL refuses them in text) and moments that overflow in UTC (year 9999
    with a negative offset) are 400s; other times are passed on in UTC."""

    def filter_queryset(self, request: Request, queryset, view):
        bad = [
            name
            for name, values in request.query_params.lists()
            if any("\x00" in v for v in values)
        ]
        if bad:
            raise exceptions.ValidationError({name: [NULL_CHARACTERS] for name in bad})
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        cleaned = filterset.form.cleaned_data
        out_of_range = {}
        for name, value in cleaned.items():
            if isinstance(value, datetime):
                moment = as_utc(value)
                if moment is None:
                    out_of_range[name] = [OUT_OF_RANGE]
                # PostgreSQL refuses UTC offsets beyond ±15:59, which ISO 8601 and Python allow.
                cleaned[name] = moment
        if out_of_range:
            raise exceptions.ValidationError(out_of_range)
        return filterset.qs


FILTERS = [FilterBackend, OrderingFilter]
