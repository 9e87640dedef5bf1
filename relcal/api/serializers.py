"""The base serializer of every app's API."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from rest_framework import serializers

from relcal.text import bidi_control_message, is_short

from .fields import NULL_CHARACTERS, BoundedDateField, BoundedDateTimeField, JSONField


# Like ``Serializer`` below, its docstring reaches the published schema (as the description of
# components without one of their own): kept as it was published.
class RefusesNul:
    """For plain serializers: NUL characters answered with a 400 before any lookup, as the
    release API's ``Serializer`` does for model serializers."""

    # Also refuses bidi control characters in short text fields (names, titles, versions):
    # see relcal.text. The docstring above stays as published.
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            bad = {}
            for name, value in data.items():
                field = self.fields.get(name)
                if field is None or not isinstance(value, str):
                    continue
                if "\x00" in value:
                    bad[name] = [NULL_CHARACTERS]
                elif _is_short_text(field):
                    message = bidi_control_message(field.label or name, value)
                    if message:
                        bad[name] = [message]
            if bad:
                raise serializers.ValidationError(bad)
        return super().to_internal_value(data)


def _is_short_text(field: serializers.Field) -> bool:
    return isinstance(field, serializers.CharField) and is_short(
        field.max_length, multiline=field.style.get("base_template") == "textarea.html"
    )


# drf-spectacular shows this class's docstring as the description of every component built on
# it: changing the docstring changes the published schema.
class Serializer(RefusesNul, serializers.ModelSerializer):
    """Project base plus bounded dates, and NUL refused before any validator reaches the db.

    PostgreSQL cannot store or even compare a NUL character in text; DRF's own check runs after
    the uniqueness and related-object lookups, which would already have failed with a 500.
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: BoundedDateTimeField,
        models.DateField: BoundedDateField,
        models.JSONField: JSONField,
    }
    serializer_related_field = serializers.PrimaryKeyRelatedField
