"""API shapes of feed tokens."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from rest_framework import serializers

from calendars.filters import clean_filters
from calendars.models import FeedToken
from relcal.api.fields import JSONField


class FiltersField(JSONField):
    def to_internal_value(self, data):
        try:
            return clean_filters(super().to_internal_value(data))
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error


class FeedTokenSerializer(serializers.ModelSerializer):
    filters = FiltersField(
        required=False,
        help_text='Optional: {"teams": [slug], "environments": [slug], "releases": [id], '
        '"kinds": ["go_live" | "milestone" | "freeze" | …], "mine": true, '
        '"ci_holds": true (include environments\' short CI holds)}.',
    )
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = FeedToken
        fields = ["id", "name", "filters", "active", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "created_at", "last_used_at", "revoked_at"]


class NewFeedTokenSerializer(FeedTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret; shown only this once.")
    url = serializers.CharField(read_only=True, help_text="https subscription URL.")
    webcal_url = serializers.CharField(read_only=True, help_text="webcal:// subscription URL.")

    class Meta(FeedTokenSerializer.Meta):
        fields = [*FeedTokenSerializer.Meta.fields, "token", "url", "webcal_url"]


class RenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
