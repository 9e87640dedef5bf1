"""The feed-token viewset, thin over ``calendars.tokens``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from calendars import tokens
from calendars.models import FeedToken
from relcal.api.views import ID, NO_PUT

from .serializers import FeedTokenSerializer, NewFeedTokenSerializer, RenameSerializer


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
    http_method_names = NO_PUT
    lookup_value_regex = ID
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
