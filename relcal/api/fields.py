"""Serializer fields every app's API uses: datetimes with an offset, within the years Relcal
accepts (``relcal.times``)."""

from __future__ import annotations

from rest_framework import serializers

from relcal.times import OUT_OF_RANGE, in_range

NULL_CHARACTERS = "Null characters are not allowed."


class AwareDateTimeField(serializers.DateTimeField):
    """Refuses datetimes without a UTC offset instead of guessing the server's zone."""

    default_error_messages = {
        "naive": "Include a UTC offset, e.g. 2026-12-01T14:00:00+01:00 or …Z.",
    }

    def enforce_timezone(self, value):
        if value.tzinfo is None:
            self.fail("naive")
        return super().enforce_timezone(value)


class BoundedDateTimeField(AwareDateTimeField):
    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not in_range(moment):
            self.fail("out_of_range")
        return moment


class BoundedDateField(serializers.DateField):
    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not in_range(day):
            self.fail("out_of_range")
        return day


class JSONField(serializers.JSONField):
    """DRF's, with a JSON string nested too deeply (a form field) refused, not a 500."""

    default_error_messages = {"too_deep": "The JSON is nested too deeply."}

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except RecursionError:
            self.fail("too_deep")
