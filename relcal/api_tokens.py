"""``/api/v1/feed-tokens/``: a user's calendar feed tokens, thin over ``relcal.tokens``.

Each user sees and changes only their own tokens (another user's is a 404). The raw token and
its URLs appear once, in the answer to POST; listings show neither.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from . import tokens
from .models import FeedToken, clean_filters


class FiltersField(serializers.JSONField):
    def to_internal_value(self, data):
        try:
            return clean_filters(super().to_internal_value(data))
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error


class FeedTokenSerializer(serializers.ModelSerializer):
    filters = FiltersField(
        required=False,
        help_text='Optional: {"teams": [slug], "environments": [slug], "releases": [id], '
        '"kinds": ["go_live" | "milestone" | "freeze" | …], "mine": true}.',
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


@extend_schema_view(
    create=extend_schema(
        request=FeedTokenSerializer,
        responses={201: NewFeedTokenSerializer, 400: OpenApiResponse(description="Bad input.")},
        examples=[
            OpenApiExample(
                "Payments go-lives and freezes",
                request_only=True,
                value={
                    "name": "Google, work",
                    "filters": {"teams": ["payments"], "kinds": ["go_live", "freeze"]},
                },
            )
        ],
    ),
    partial_update=extend_schema(request=RenameSerializer, responses={200: FeedTokenSerializer}),
    destroy=extend_schema(
        description="Revokes the token: its feed answers 404 from now on. The token stays "
        "listed, with `revoked_at`.",
        responses={204: None},
    ),
)
class FeedTokenViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Secret feed URLs for calendar clients, which cannot log in. A feed shows what its owner
    may see, narrowed by its filters."""

    serializer_class = FeedTokenSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []

    def get_queryset(self):
        return FeedToken.objects.filter(user=self.request.user)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = FeedTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = tokens.feed_token_create(actor=request.user, **serializer.validated_data)
        token.token = raw
        token.url = tokens.feed_url(raw)
        token.webcal_url = tokens.webcal_url(raw)
        return Response(NewFeedTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        token = self.get_object()
        serializer = RenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens.feed_token_rename(actor=request.user, token=token, **serializer.validated_data)
        return Response(FeedTokenSerializer(token).data)

    def update(self, request: Request, *args, **kwargs) -> Response:
        return self.partial_update(request, *args, **kwargs)

    def perform_destroy(self, instance: FeedToken) -> None:
        tokens.feed_token_revoke(actor=self.request.user, token=instance)


router = SimpleRouter()
router.register("feed-tokens", FeedTokenViewSet, basename="feed-token")
